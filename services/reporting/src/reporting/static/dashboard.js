"use strict";
// ---------------------------------------------------------------- labels (Chinese for every domain term)
const EVENT = {
  "petition.registered.v1": "登记", "petition.flagged.v1": "系统标注", "petition.marked.v1": "人工标记",
  "case.assigned.v1": "分派", "case.unroutable.v1": "无法自动分派", "case.classified.v1": "分类确认",
  "case.accepted.v1": "受理", "case.rejected.v1": "不予受理", "case.objection_raised.v1": "提出异议",
  "case.objection_decided.v1": "异议决定", "case.track_set.v1": "分类办理", "case.leader_took.v1": "领导包案",
  "case.handler_assigned.v1": "指定承办人", "case.handler_recused.v1": "回避", "case.joint_handling_set.v1": "联合办理",
  "case.subtask_reported.v1": "协办报告", "case.investigation_recorded.v1": "联合调查", "case.urgent_flagged.v1": "重大紧急",
  "case.shared.v1": "共享给协作方", "case.sharing_revoked.v1": "撤销共享", "case.coordination_recorded.v1": "协作方处置",
  "case.mediation_scheduled.v1": "安排联合调解", "case.mediation_concluded.v1": "调解结果",
  "case.joint_meeting_recorded.v1": "联席会议", "case.meeting_action_done.v1": "会议决定落实",
  "case.closed.v1": "办结", "case.finalised.v1": "复核终结", "case.rehandling_ordered.v1": "重新办理",
  "deadline.set.v1": "期限开始", "deadline.met.v1": "期限内完成", "deadline.breached.v1": "超期",
  "deadline.warned.v1": "到期预警", "deadline.paused.v1": "期限中止", "deadline.resumed.v1": "期限恢复",
  "deadline.extended.v1": "延期", "deadline.cancelled.v1": "期限取消",
  "reply.drafted.v1": "答复起草", "reply.reviewed.v1": "答复审核", "reply.served.v1": "答复送达",
  "agreement.signed.v1": "签订协议", "evaluation.recorded.v1": "满意度评价", "evaluation.expired.v1": "超期未评价",
  "followup.required.v1": "需回访", "followup.recorded.v1": "回访", "review.requested.v1": "申请复查/复核",
  "review.opinion_issued.v1": "复查/复核意见", "supervision.order_issued.v1": "督办", "supervision.order_feedback.v1": "督办反馈",
  "supervision.order_escalated.v1": "督办升级", "supervision.progress_noted.v1": "办理进展", "supervision.untouched.v1": "长期未跟进",
  "alert.raised.v1": "预警", "alert.shared.v1": "预警共享", "alert.acknowledged.v1": "预警已签收", "alert.closed.v1": "预警已关闭",
};
const CLOCK = { transfer: "转送交办", acceptance_notice: "告知受理", transferred_notice: "转交办件告知受理", objection: "提出异议",
  handling: "办理期限", extension: "延长办理期限", review_request_window: "申请复查期", review: "复查期限",
  re_review_request_window: "申请复核期", re_review: "复核期限", evaluation: "满意度评价期", followup: "回访",
  rehandling: "重新办理", execution: "意见执行" };
const ALERT = { unroutable: "无法自动分派", urgent: "重大紧急", overdue: "超期", order_escalated: "督办升级", untouched: "长期未跟进",
  collective_sign: "集体访苗头", rising: "数量异常上升", sensitive_period: "敏感时期", frequent_petitioner: "信访老户",
  overdue_cluster: "超期集中" };
const STAGE_TAG = { final: "green", closed: "green", replied: "blue", rejected: "orange", unroutable: "red", disputed: "red", objected: "orange" };

function clockLabel(c) {
  if (!c) return "";
  const [base, no] = c.split(":");
  if (base === "order") return `督办（第${no}号）`;
  if (base === "mediation") return `联合调解（第${no}次）`;
  if (base === "meeting") return `联席会议决定 ${no}`;
  return CLOCK[base] || c;
}
const fmtDay = new Intl.DateTimeFormat("zh-CN", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit" });
const fmtTime = new Intl.DateTimeFormat("zh-CN", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit",
                                                   hour: "2-digit", minute: "2-digit", hour12: false });
const day = (s) => s ? (s.length === 10 ? s : fmtDay.format(new Date(s))) : "";
const time = (s) => s ? fmtTime.format(new Date(s)) : "";
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
const unitName = (id) => (state.me && state.me.unit_names && state.me.unit_names[id]) || id || "";
const pct = (v) => v == null ? "—" : (v * 100).toFixed(1);
function valueHtml(k, v) {
  if (v == null) return `—<small>无数据</small>`;
  return k.per_employees ? `${v.toFixed(2)}<small>件/千人</small>` : `${pct(v)}<small>%</small>`;
}
function deltaHtml(k, d, label) {
  if (d == null) return `<span class="delta flat">${label} —</span>`;
  const up = d > 0, flat = Math.abs(d) < 1e-9;
  const good = flat || !k.better ? "flat" : ((up === (k.better === "higher")) ? "good" : "bad");
  const shown = k.per_employees ? Math.abs(d).toFixed(2) : (Math.abs(d) * 100).toFixed(1) + "个百分点";
  return `<span class="delta ${good}">${label} ${flat ? "持平" : (up ? "↑" : "↓") + shown}</span>`;
}

// ---------------------------------------------------------------- session and API
const state = { token: sessionStorage.getItem("xf-token"), me: null, month: null, overview: null, kpi: null, charts: [] };
// every render is a generation: a view's reads that come back after the user moved on are dropped
// (STALE), so a slow view never paints over the one that replaced it
let generation = 0;
const STALE = new Error("stale");
async function api(path, opts = {}) {
  const gen = generation;
  const res = await fetch(path, { ...opts, headers: { ...(opts.headers || {}), Authorization: "Bearer " + state.token } });
  if (!opts.method && gen !== generation) throw STALE;
  if (res.status === 401) {
    if (state.me) logout();  // signed in before: the token expired
    throw new Error(state.me ? "登录已失效，请重新登录" : "令牌无效或已过期");
  }
  if (!res.ok) {
    let msg = res.status + "";
    try { const b = await res.json(); msg = b.message || b.detail || JSON.stringify(b); } catch (e) { /* not JSON */ }
    throw new Error(msg);
  }
  return opts.raw ? res : res.json();
}
function logout() { sessionStorage.removeItem("xf-token"); state.token = null; state.me = null; location.hash = "#/login"; render(); }
document.getElementById("logout").onclick = logout;

function disposeCharts() { state.charts.forEach((c) => c.dispose()); state.charts = []; }
function chart(el, option) {
  const c = echarts.init(el, null, { renderer: "canvas" });
  c.setOption({ textStyle: { fontFamily: "Noto Sans CJK SC, PingFang SC, Microsoft YaHei, sans-serif" }, animation: false, ...option });
  state.charts.push(c);
  return c;
}
window.addEventListener("resize", () => state.charts.forEach((c) => c.resize()));
const app = document.getElementById("app");
const thisMonth = () => new Intl.DateTimeFormat("sv-SE", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit" }).format(new Date()).slice(0, 7);

// ---------------------------------------------------------------- views
function loginView(error) {
  document.getElementById("top").hidden = true;
  app.innerHTML = `<div class="login"><div class="card">
    <h2>信访工作台</h2><div class="hint">集团总部、子公司和各单位使用同一访问令牌登录，只看到本账号可见范围内的案件和指标。</div>
    <form id="login-form"><input id="token" type="password" autocomplete="off" placeholder="访问令牌（Bearer token）" maxlength="8000" required>
    <button class="act" type="submit">登录</button></form>
    ${error ? `<div class="error" role="alert">${esc(error)}</div>` : ""}
    <p class="hint">嵌入式演示环境的令牌见 deploy/seed/demo-tokens.yaml；生产环境使用统一身份认证签发的令牌。</p></div></div>`;
  document.getElementById("login-form").onsubmit = async (e) => {
    e.preventDefault();
    state.token = document.getElementById("token").value.trim();
    try {
      state.me = await api("/me");
      sessionStorage.setItem("xf-token", state.token);
      if (location.hash === "#/overview") render(); else location.hash = "#/overview";  // hashchange renders
    } catch (err) { state.token = null; loginView(err.message); }
  };
}

function bar(title, extra = "") {
  return `<div class="bar"><h2>${title}</h2><span class="scope">${esc(state.me.scope)}</span>
    <label>月份 <input type="month" id="month" value="${state.month}" max="${thisMonth()}"></label>${extra}</div>`;
}
function bindMonth() {
  const m = document.getElementById("month");
  if (m) m.onchange = () => { if (m.value) { state.month = m.value; state.overview = null; render(); } };
  const x = document.getElementById("excel");
  if (x) x.onclick = downloadExcel;
}
async function overviewData() {
  // kept while one moves between views, fetched again after half a minute or for another month
  if (!state.overview || state.overview.month !== state.month || Date.now() - state.overview.at > 30000) {
    state.overview = { ...(await api("/dashboard/overview?month=" + state.month)), at: Date.now() };
  }
  return state.overview;
}
async function downloadExcel() {
  const btn = document.getElementById("excel");
  btn.disabled = true;
  try {
    const res = await api("/reports/monthly?month=" + state.month, { raw: true });
    const url = URL.createObjectURL(await res.blob());
    const a = Object.assign(document.createElement("a"), { href: url, download: `信访工作月报-${state.month}.xlsx` });
    document.body.appendChild(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 5000);
  } catch (e) { alert("下载失败：" + e.message); } finally { btn.disabled = false; }
}

function kpiCard(k, i) {
  const choices = Object.entries(k.choices || {}).map(([a, b]) => `<div class="choice" title="可选口径，在 kpis.yaml 中设定">口径·${esc(a)}：${esc(b)}</div>`).join("");
  return `<div class="card kpi${state.kpi === k.id ? " on" : ""}" data-kpi="${k.id}" id="kpi-${k.id}" tabindex="0" role="button">
    <div class="name">${esc(k.name)}</div>
    <div class="value">${valueHtml(k, k.value)}</div>
    <div class="frac" title="分子 / 分母">分子 ${k.numerator ?? "—"} / 分母 ${k.denominator ?? "—"}</div>
    <div>${deltaHtml(k, k.change_vs_previous, "环比")}${deltaHtml(k, k.change_vs_last_year, "同比")}</div>
    <div class="spark" id="spark-${i}"></div>
    <div class="formula">${esc(k.formula)}${choices}</div></div>`;
}
function sparks(list, t) {
  list.forEach((k, i) => {
    const trend = t.indicators.find((x) => x.id === k.id).trend;
    chart(document.getElementById("spark-" + i), {
      grid: { left: 2, right: 2, top: 4, bottom: 2 }, xAxis: { type: "category", show: false, data: trend.map((x) => x.month) },
      yAxis: { type: "value", show: false, scale: true },
      tooltip: { trigger: "axis", formatter: (p) => `${p[0].name}<br>${p[0].value == null ? "—" : (k.per_employees ? p[0].value : (p[0].value * 100).toFixed(1) + "%")}` },
      series: [{ type: "line", data: trend.map((x) => x.value), symbol: "none", connectNulls: true,
                 lineStyle: { width: 2, color: "#a4161a" }, areaStyle: { color: "rgba(164,22,26,.08)" } }] });
  });
}

async function overviewView() {
  app.innerHTML = bar("总览", `<button class="ghost" id="excel" type="button">下载月报（Excel）</button>`) + `<p class="loading">正在计算指标…</p>`;
  bindMonth();
  const o = await overviewData();
  const cur = o.volumes[o.volumes.length - 1], prev = o.volumes[o.volumes.length - 2], ly = o.volumes[0];
  const volCard = `<div class="card kpi"><div class="name">信访总量（${esc(o.month)}）</div>
      <div class="value">${cur.cases}<small>件次</small></div><div class="frac">${cur.person_times} 人次</div>
      <div><span class="delta flat">上月 ${prev.cases} 件次</span><span class="delta flat">去年同月 ${ly.cases} 件次</span></div>
      <div class="formula">件次：每件信访事项计1件次；人次：来访按来访人数，其他按署名人数，匿名按1人</div></div>`;
  const alertsCard = `<div class="card kpi" id="alerts-card" data-href="#/alerts"><div class="name">待处理预警</div>
      <div class="value" style="color:${o.alerts.total ? "var(--bad)" : "var(--ok)"}">${o.alerts.total}<small>条</small></div>
      <div class="frac">超期未办 ${o.overdue.total} 项 · 督办未反馈 ${o.orders.total} 项</div>
      <div class="formula">预警规则见 deploy/seed/warnings.yaml；超期指法定或集团期限已过而未完成</div></div>`;
  app.innerHTML = bar("总览", `<button class="ghost" id="excel" type="button">下载月报（Excel）</button>`) +
    `<div class="grid kpis" id="kpi-cards">${volCard}${alertsCard}${o.indicators.map(kpiCard).join("")}</div>
     <div class="grid two" style="margin-top:14px">
       <div class="card"><h3>信访量趋势（近十三个月）</h3><div class="chart" id="volume-chart"></div></div>
       <div class="card"><h3 id="trend-title">指标趋势</h3><div class="chart" id="trend-chart"></div></div>
     </div>
     <div class="grid half" style="margin-top:14px">
       <div class="card"><h3>热点问题（本月前十）<a class="more" href="#/issues">更多</a></h3>${issuesTable(o.hot_issues.slice(0, 6))}</div>
       <div class="card"><h3>最新预警<a class="more" href="#/alerts">全部</a></h3>${alertsTable(o.alerts.items.slice(0, 6))}</div>
     </div>`;
  bindMonth();
  document.getElementById("alerts-card").onclick = () => { location.hash = "#/alerts"; };
  document.querySelectorAll(".kpi[data-kpi]").forEach((el) => { el.onclick = () => pickTrend(el.dataset.kpi); el.onkeydown = (e) => { if (e.key === "Enter") pickTrend(el.dataset.kpi); }; });
  document.body.dataset.ready = "overview";  // the first screen is up; the trends follow
  const t = await trendData();  // STALE if the user moved on meanwhile
  chart(document.getElementById("volume-chart"), {
    tooltip: { trigger: "axis" }, legend: { data: ["件次", "人次"] }, grid: { left: 44, right: 16, top: 36, bottom: 28 },
    xAxis: { type: "category", data: t.volumes.map((v) => v.month) }, yAxis: { type: "value", minInterval: 1 },
    series: [{ name: "件次", type: "bar", data: t.volumes.map((v) => v.cases), itemStyle: { color: "#a4161a" }, barMaxWidth: 26 },
             { name: "人次", type: "line", data: t.volumes.map((v) => v.person_times), itemStyle: { color: "#1d4ed8" } }] });
  sparks(o.indicators, t);
  pickTrend(state.kpi || o.indicators[0].id);
  document.body.dataset.trends = "drawn";
}
async function trendData() {
  if (!state.trends || state.trends.month !== state.month || Date.now() - state.trends.at > 30000) {
    state.trends = { month: state.month, ...(await api("/dashboard/trends?month=" + state.month)), at: Date.now() };
  }
  return state.trends;
}
function pickTrend(id) {
  const o = state.overview, t = state.trends;
  state.kpi = id;
  const k = o.indicators.find((x) => x.id === id) || o.indicators[0];
  document.querySelectorAll(".kpi[data-kpi]").forEach((el) => el.classList.toggle("on", el.dataset.kpi === k.id));
  const title = document.getElementById("trend-title");
  if (!title || !t) return;
  title.textContent = k.name + "（近十三个月）";
  const trend = t.indicators.find((x) => x.id === k.id).trend;
  const el = document.getElementById("trend-chart");
  const old = echarts.getInstanceByDom(el); if (old) { state.charts = state.charts.filter((c) => c !== old); old.dispose(); }
  chart(el, { tooltip: { trigger: "axis", formatter: (p) => { const x = trend[p[0].dataIndex];
      return `${x.month}<br>${esc(k.name)}：${x.value == null ? "—" : (k.per_employees ? x.value.toFixed(2) : (x.value * 100).toFixed(1) + "%")}<br>分子 ${x.numerator ?? "—"} / 分母 ${x.denominator ?? "—"}`; } },
    grid: { left: 50, right: 16, top: 20, bottom: 28 }, xAxis: { type: "category", data: trend.map((x) => x.month) },
    yAxis: { type: "value", axisLabel: { formatter: (v) => k.per_employees ? v : (v * 100).toFixed(0) + "%" } },
    series: [{ type: "line", data: trend.map((x) => x.value), connectNulls: true, itemStyle: { color: "#a4161a" },
               areaStyle: { color: "rgba(164,22,26,.08)" } }] });
}

async function compareView() {
  const title = state.me.headquarters ? "子公司对比" : "所属单位对比";
  app.innerHTML = bar(title) + `<p class="loading">正在计算…</p>`;
  bindMonth();
  const o = await overviewData();
  const k = o.indicators.find((x) => x.id === state.kpi) || o.indicators[0];
  state.kpi = k.id;
  const level = o.group_by === "subsidiary" ? "subsidiary" : "unit";
  const rank = k.better ? await api(`/kpis/${k.id}/ranking?period=${state.month}&level=${level}`) : null;
  const shown = (v) => v == null ? "—" : (k.per_employees ? v.toFixed(2) : pct(v) + "%");
  const options = o.indicators.map((x) => `<option value="${x.id}"${x.id === k.id ? " selected" : ""}>${esc(x.name)}</option>`).join("");
  const head = `<tr><th class="num">名次</th><th>${level === "subsidiary" ? "子公司" : "单位"}</th><th class="num">${esc(k.name)}</th><th class="num">分子</th><th class="num">分母</th><th class="num">剔除</th><th class="num">件次</th></tr>`;
  const line = (g) => `<tr><td class="num">${g.rank ?? ""}</td><td>${esc(g.group_name)}</td><td class="num">${shown(g.value)}</td>
      <td class="num">${g.numerator ?? "—"}</td><td class="num">${g.denominator ?? "—"}</td><td class="num">${g.excluded ?? 0}</td><td class="num">${g.volume ?? ""}</td></tr>`;
  let table;
  if (rank) {
    const bands = rank.bands.filter((b) => b.items.length).map((b) => `<tr class="band"><td colspan="7"><b>${esc(b.band_name)}</b></td></tr>${b.items.map(line).join("")}`).join("");
    const rest = rank.not_ranked.map((g) => `<tr><td class="num"><span class="tag">不排名</span></td><td>${esc(g.group_name)}</td><td class="num">${shown(g.value)}</td>
      <td class="num">${g.numerator}</td><td class="num">${g.denominator}</td><td class="num">${g.excluded ?? 0}</td><td class="num">${g.volume}</td></tr><tr><td></td><td colspan="6" class="hint">${esc(g.reason || "")}</td></tr>`).join("");
    table = bands || rest ? `<table id="compare-table"><thead>${head}</thead><tbody>${bands}${rest}</tbody></table>
      <p class="hint">${esc(rank.better_label)}。${esc(rank.note)}（最低件数 ${rank.min_denominator}，规模按${esc(rank.volume_basis)}）。</p>` : `<div class="empty">本月没有数据</div>`;
  } else {
    table = k.groups.length ? `<table id="compare-table"><thead><tr><th>${level === "subsidiary" ? "子公司" : "单位"}</th><th class="num">${esc(k.name)}</th><th class="num">分子</th><th class="num">分母</th></tr></thead><tbody>${
      k.groups.map((g) => `<tr><td>${esc(g.group_name)}</td><td class="num">${shown(g.value)}</td><td class="num">${g.numerator ?? "—"}</td><td class="num">${g.denominator ?? "—"}</td></tr>`).join("")}</tbody></table>
      <p class="hint">件次类指标不排名：按件次总量排名会促使压访瞒访。</p>` : `<div class="empty">本月没有数据</div>`;
  }
  app.innerHTML = bar(title, `<label>指标 <select id="kpi-pick">${options}</select></label>`) +
    `<div class="grid two"><div class="card"><h3>${esc(k.name)} · ${esc(o.month)}</h3><div class="chart" id="compare-chart" style="height:${Math.max(260, k.groups.length * 34 + 60)}px"></div>
       <div class="hint">${esc(k.formula)}</div></div>
     <div class="card"><h3>${rank ? "分档排名（分子 / 分母）" : "明细（分子 / 分母）"}</h3>${table}</div></div>`;
  bindMonth();
  document.getElementById("kpi-pick").onchange = (e) => { state.kpi = e.target.value; render(); };
  const gs = [...k.groups].reverse();
  chart(document.getElementById("compare-chart"), {
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, formatter: (p) => { const g = gs[p[0].dataIndex];
      return `${esc(g.group_name)}<br>${shown(g.value)}<br>分子 ${g.numerator} / 分母 ${g.denominator}`; } },
    grid: { left: 10, right: 50, top: 10, bottom: 20, containLabel: true }, yAxis: { type: "category", data: gs.map((g) => g.group_name) },
    xAxis: { type: "value", axisLabel: { formatter: (v) => k.per_employees ? v : (v * 100).toFixed(0) + "%" } },
    series: [{ type: "bar", data: gs.map((g) => g.value), itemStyle: { color: "#a4161a" }, barMaxWidth: 22,
               label: { show: true, position: "right", formatter: (p) => p.value == null ? "" : shown(p.value) } }] });
}

function issuesTable(items) {
  if (!items.length) return `<div class="empty">本月没有信访件</div>`;
  return `<table><thead><tr><th>问题类型</th><th class="num">本月件次</th><th class="num">上月</th><th class="num">变化</th></tr></thead><tbody>${
    items.map((h) => `<tr class="click" data-issue="${esc(h.issue_type)}"><td>${esc(h.issue_name)}</td><td class="num">${h.cases}</td><td class="num">${h.previous}</td>
      <td class="num">${h.previous ? ((h.cases - h.previous) / h.previous * 100).toFixed(0) + "%" : "新增"}</td></tr>`).join("")}</tbody></table>`;
}
function bindIssueRows() {
  document.querySelectorAll("tr[data-issue]").forEach((tr) => { tr.onclick = () => { location.hash = "#/cases?issue_type=" + encodeURIComponent(tr.dataset.issue); }; });
}
async function issuesView() {
  app.innerHTML = bar("热点问题") + `<p class="loading">正在统计…</p>`;
  bindMonth();
  const o = await overviewData();
  const hs = [...o.hot_issues].reverse();
  app.innerHTML = bar("热点问题") + `<div class="grid two"><div class="card"><h3>本月前十问题类型（件次）</h3><div class="chart" id="issue-chart" style="height:380px"></div></div>
    <div class="card"><h3>明细（点击查看案件）</h3>${issuesTable(o.hot_issues)}</div></div>`;
  bindMonth(); bindIssueRows();
  chart(document.getElementById("issue-chart"), { tooltip: { trigger: "axis", axisPointer: { type: "shadow" } }, legend: { data: ["本月", "上月"] },
    grid: { left: 10, right: 30, top: 30, bottom: 20, containLabel: true }, yAxis: { type: "category", data: hs.map((h) => h.issue_name) }, xAxis: { type: "value", minInterval: 1 },
    series: [{ name: "本月", type: "bar", data: hs.map((h) => h.cases), itemStyle: { color: "#a4161a" } },
             { name: "上月", type: "bar", data: hs.map((h) => h.previous), itemStyle: { color: "#d0d5dd" } }] });
}

function alertsTable(items, withCase = true) {
  if (!items.length) return `<div class="empty">没有预警</div>`;
  return `<table class="alerts"><thead><tr><th>类别</th><th>责任单位</th><th>时间</th><th>内容</th>${withCase ? "<th></th>" : ""}</tr></thead><tbody>${
    items.map((a) => `<tr data-alert="${esc(a.alert_id)}"><td><span class="tag ${a.kind === "collective_sign" || a.kind === "urgent" ? "red" : "orange"}">${esc(ALERT[a.kind] || a.kind)}</span>
      ${a.state ? `<br><span class="tag">${esc({ open: "待签收", acknowledged: "已签收", closed: "已关闭" }[a.state] || a.state)}</span>` : ""}</td>
      <td>${esc(a.unit_name || a.unit)}</td><td>${time(a.raised_at)}</td><td>${esc(a.message)}</td>
      ${withCase ? `<td><a href="#/case/${esc(a.case_id)}">案件</a></td>` : ""}</tr>`).join("")}</tbody></table>`;
}
const ALERT_STATE = { open: "待签收", acknowledged: "已签收", closed: "已办结" };
const ACK_ROLES = ["handler", "leader", "supervisor", "hq_analyst", "admin"], CLOSE_ROLES = ["handler", "leader", "supervisor", "admin"];
function evidence(a) {
  const parts = [];
  if (a.count != null && a.threshold != null) parts.push(`${a.count} 件（阈值 ${a.threshold}）`);
  if (a.window_start) parts.push(`${day(a.window_start)} 至 ${day(a.window_end)}`);
  if (a.period) parts.push(a.period);
  if (a.baselines && a.baselines.length) parts.push(a.baselines.map((b) => `${b.name === "last_year" ? "同比基期" : "环比基期"} ${b.count} 件`).join("，"));
  const cases = (a.case_ids || []).slice(0, 12).map((c) => `<a href="#/case/${esc(c)}">${esc(c.slice(0, 8))}</a>`).join(" ");
  return `${esc(parts.join(" · "))}${cases ? `<div class="hint">涉及案件：${cases}${a.case_ids.length > 12 ? " …" : ""}</div>` : ""}`;
}
async function alertsView(params) {
  const q = new URLSearchParams(params || "");
  const st = q.get("state") ?? "open";
  const head = `<div class="bar"><h2>预警</h2><span class="scope">${esc(state.me.scope)}</span>
    <label>状态 <select id="alert-state">${[["open", "待签收"], ["acknowledged", "已签收"], ["closed", "已办结"], ["", "全部"]].map(([v, l]) => `<option value="${v}"${v === st ? " selected" : ""}>${l}</option>`).join("")}</select></label>
    <label>类别 <select id="alert-kind"><option value="">全部</option>${Object.entries(ALERT).map(([v, l]) => `<option value="${v}"${v === q.get("kind") ? " selected" : ""}>${l}</option>`).join("")}</select></label></div>`;
  app.innerHTML = head + `<p class="loading">正在加载…</p>`;
  const api_q = new URLSearchParams({ limit: "200" });
  if (st) api_q.set("state", st);
  if (q.get("kind")) api_q.set("kind", q.get("kind"));
  const list = await api("/alerts?" + api_q);
  const canAck = ACK_ROLES.includes(state.me.role), canClose = CLOSE_ROLES.includes(state.me.role);
  const rows = list.items.map((a) => `<tr data-alert="${esc(a.alert_id)}"><td><span class="tag ${a.kind === "collective_sign" || a.kind === "urgent" ? "red" : "orange"}">${esc(a.kind_label || ALERT[a.kind] || a.kind)}</span>
      <br><span class="tag ${a.state === "closed" ? "green" : a.state === "acknowledged" ? "blue" : ""}">${esc(ALERT_STATE[a.state] || a.state)}</span></td>
      <td>${esc(a.unit_name || a.unit)}</td><td>${time(a.raised_at)}</td><td>${esc(a.message)}<div class="hint">${evidence(a)}</div>
      ${a.acknowledged_by ? `<div class="hint">签收：${esc(a.acknowledged_by)} ${time(a.acknowledged_at)} ${esc(a.acknowledgement_note || "")}</div>` : ""}
      ${a.closed_by ? `<div class="hint">办结：${esc(a.closed_by)} ${time(a.closed_at)} ${esc(a.outcome || "")} ${esc(a.resolution || "")}</div>` : ""}
      <div class="act-area"></div></td>
      <td style="white-space:nowrap">${a.state === "open" && canAck ? `<button class="ghost ack" type="button">签收</button> ` : ""}${a.state !== "closed" && canClose ? `<button class="ghost close" type="button">办结</button>` : ""}</td></tr>`).join("");
  app.innerHTML = head + `<div class="card"><h3>预警列表（${list.items.length} 条）</h3>${list.items.length ? `<table class="alerts" id="alerts-table"><thead><tr><th>类别/状态</th><th>责任单位</th><th>时间</th><th>内容与依据</th><th></th></tr></thead><tbody>${rows}</tbody></table>` : `<div class="empty">没有预警</div>`}
    <p class="hint">集体访苗头、数量异常上升、敏感时期、信访老户、超期集中等预警规则为可编辑的数据（deploy/seed/warnings.yaml）；预警只含案件编号、单位和时间，不含信访人信息。签收表示由本人接手，办结须写明处置情况。</p></div>`;
  const refilter = () => {
    const n = new URLSearchParams();
    n.set("state", document.getElementById("alert-state").value);
    if (document.getElementById("alert-kind").value) n.set("kind", document.getElementById("alert-kind").value);
    location.hash = "#/alerts?" + n;
  };
  document.getElementById("alert-state").onchange = refilter;
  document.getElementById("alert-kind").onchange = refilter;
  document.querySelectorAll("#alerts-table tr[data-alert]").forEach((tr) => {
    const id = tr.dataset.alert, area = tr.querySelector(".act-area");
    const submit = async (path, body) => {
      try {
        await api(`/alerts/${id}/${path}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
        state.overview = null;
        render();
      } catch (err) { area.insertAdjacentHTML("beforeend", `<div class="error" role="alert">${esc(err.message)}</div>`); }
    };
    const ack = tr.querySelector("button.ack");
    if (ack) ack.onclick = () => {
      area.innerHTML = `<form class="search ack-form"><input name="note" placeholder="签收说明（选填，不写个人信息）" maxlength="500" style="flex:1"><button class="act" type="submit">确认签收</button></form>`;
      area.querySelector("form").onsubmit = (e) => { e.preventDefault(); submit("acknowledgement", { note: e.target.note.value }); };
    };
    const close = tr.querySelector("button.close");
    if (close) close.onclick = () => {
      area.innerHTML = `<form class="search close-form"><select name="outcome">${["已化解", "误报", "转办", "其他"].map((o) => `<option>${o}</option>`).join("")}</select>
        <input name="resolution" placeholder="处置情况（不写个人信息）" maxlength="500" required style="flex:1"><button class="act" type="submit">确认办结</button></form>`;
      area.querySelector("form").onsubmit = (e) => { e.preventDefault(); submit("closure", { outcome: e.target.outcome.value, resolution: e.target.resolution.value }); };
    };
  });
}

function deadlineTable(items, id) {
  if (!items.length) return `<div class="empty">没有</div>`;
  return `<table id="${id}"><thead><tr><th>信访件编号</th><th>期限</th><th>责任单位</th><th>最后期限</th><th>依据</th></tr></thead><tbody>${
    items.map((d) => `<tr class="click" data-case="${esc(d.case_id)}"><td>${esc(d.case_no)}</td><td>${esc(clockLabel(d.clock))}</td>
      <td>${esc(d.unit_name || d.unit || "")}</td><td>${day(d.due_on)}</td><td class="hint">${esc(d.basis || "")}</td></tr>`).join("")}</tbody></table>`;
}
function bindCaseRows() {
  document.querySelectorAll("tr[data-case]").forEach((tr) => { tr.onclick = () => { location.hash = "#/case/" + tr.dataset.case; }; });
}
async function overdueView() {
  app.innerHTML = bar("超期与督办") + `<p class="loading">正在加载…</p>`;
  bindMonth();
  const o = await overviewData();
  app.innerHTML = bar("超期与督办") + `<div class="grid half">
    <div class="card"><h3>超期未办（共 ${o.overdue.total} 项，按最后期限排列）</h3><div class="scroll">${deadlineTable(o.overdue.items, "overdue-table")}</div></div>
    <div class="card"><h3>督办未反馈（共 ${o.orders.total} 项）</h3><div class="scroll">${deadlineTable(o.orders.items, "orders-table")}</div></div></div>
    <p class="hint">期限按《信访工作条例》和集团办理规定计算，遇法定节假日顺延（含调休）；依据列出条款。</p>`;
  bindMonth(); bindCaseRows();
}

async function casesView(params) {
  const q = new URLSearchParams(params);
  const issues = Object.entries(state.me.issue_names || {}).map(([id, n]) => `<option value="${esc(id)}"${q.get("issue_type") === id ? " selected" : ""}>${esc(n)}</option>`).join("");
  const statuses = { registered: "已登记", assigned: "待受理", unroutable: "待人工分派", accepted: "已受理", rejected: "不予受理", objected: "有异议", disputed: "争议待定" };
  app.innerHTML = `<div class="bar"><h2>案件查询</h2><span class="scope">${esc(state.me.scope)}</span></div>
    <form class="search" id="search"><input name="case_no" placeholder="信访件编号" value="${esc(q.get("case_no") || "")}" maxlength="40">
      <select name="issue_type"><option value="">全部问题类型</option>${issues}</select>
      <select name="status"><option value="">全部状态</option>${Object.entries(statuses).map(([k, v]) => `<option value="${k}"${q.get("status") === k ? " selected" : ""}>${v}</option>`).join("")}</select>
      <button class="act" type="submit">查询</button></form>
    <div class="card" id="results"><p class="loading">正在查询…</p></div>`;
  document.getElementById("search").onsubmit = (e) => {
    e.preventDefault();
    const f = new URLSearchParams([...new FormData(e.target)].filter(([, v]) => v));
    location.hash = "#/cases?" + f.toString();
  };
  const api_q = new URLSearchParams([...q].filter(([k, v]) => v && ["case_no", "issue_type", "status", "after"].includes(k)));
  api_q.set("limit", "50");
  const res = await api("/cases?" + api_q.toString());
  const body = res.items.map((c) => `<tr class="click" data-case="${esc(c.case_id)}"><td>${esc(c.case_no)}</td><td>${day(c.received_at)}</td>
      <td>${esc(c.channel)}</td><td>${esc(c.subsidiary_name || "")}</td><td>${esc((state.me.issue_names || {})[c.issue_type] || c.issue_type || "")}</td>
      <td>${esc(c.assigned_unit_name || "")}</td><td><span class="tag ${STAGE_TAG[c.stage] || ""}">${esc(c.stage_label)}</span>${c.urgent ? ' <span class="tag red">重大紧急</span>' : ""}</td></tr>`).join("");
  const next = res.next ? (() => { const n = new URLSearchParams(q); n.set("after", res.next); return `<a href="#/cases?${n}" id="next-page">下一页 →</a>`; })() : "";
  document.getElementById("results").innerHTML = res.items.length
    ? `<table id="case-table"><thead><tr><th>信访件编号</th><th>收到日期</th><th>渠道</th><th>子公司</th><th>问题类型</th><th>责任单位</th><th>状态</th></tr></thead><tbody>${body}</tbody></table><p>${next}</p>`
    : `<div class="empty">没有符合条件的案件</div>`;
  bindCaseRows();
}

function traceLink(traceId) {
  if (!traceId || !state.me.operator) return "";
  const href = state.me.trace_ui ? state.me.trace_ui.replace("{trace_id}", traceId) : "#/trace/" + traceId;
  return ` <a class="trace" href="${esc(href)}"${state.me.trace_ui ? ' target="_blank" rel="noopener"' : ""}>链路</a>`;
}
const FLAG = { repeat: "重复信访", same_matter_in_handling: "下级办理中又向上级提出", final_after_re_review: "复核终结后再次提出",
  duplicate_text: "一信多投", collective: "集体访/联名", skip_level: "未逐级走访", frequent_petitioner: "信访老户" };
const KIND = { window: "期间", report: "报告", internal: "集团期限" };
function detailText(t) {
  const d = t.detail || {};
  const parts = [];
  if (d.clock) parts.push(clockLabel(d.clock));
  if (d.unit) parts.push(unitName(d.unit));
  if (d.flag) parts.push(FLAG[d.flag] || d.flag);
  if (d.party) parts.push(unitName(d.party));
  if (d.kind && d.kind !== "duty") parts.push(KIND[d.kind] || d.kind);
  for (const k of ["due_on", "grade", "level", "preset", "outcome", "decision", "ground", "reason_code", "mode", "track"]) if (d[k] != null && d[k] !== "") parts.push(`${k === "due_on" ? "最后期限 " : ""}${d[k]}`);
  return parts.join(" · ");
}
async function caseView(id) {
  app.innerHTML = `<p class="loading">正在加载案件…</p>`;
  const c = await api("/cases/" + encodeURIComponent(id));
  const ev = c.evaluation || {};
  const shares = (c.shares || []).map((s) => `<tr><td>${esc(s.party_name || s.party)}</td><td>${esc(s.preset || "")}</td><td>${esc((s.fields || []).join("、"))}</td>
      <td>${day(s.since)}</td><td>${s.revoked_on ? "已撤销 " + day(s.revoked_on) : "共享中"}</td></tr>`).join("");
  const deadlines = (c.deadlines || []).map((d) => {
    const st = d.cancelled_on ? ["取消", ""] : d.met_on ? (d.late ? ["逾期完成", "orange"] : ["按期完成", "green"]) : d.breached_on ? ["已超期", "red"] : d.paused_on ? ["中止", ""] : ["进行中", "blue"];
    return `<tr><td>${esc(clockLabel(d.clock))}${d.kind && d.kind !== "duty" ? ` <span class="hint">（${d.kind === "window" ? "期间" : esc(d.kind)}）</span>` : ""}</td><td>${esc(unitName(d.unit))}</td>
      <td>${day(d.starts_on)}</td><td>${day(d.due_on)}${d.rolled_from ? `<div class="hint">原为${day(d.rolled_from)}，遇节假日顺延</div>` : ""}${d.extended_days ? `<div class="hint">已延期${d.extended_days}日</div>` : ""}</td>
      <td><span class="tag ${st[1]}">${st[0]}</span>${d.met_on ? " " + day(d.met_on) : ""}</td><td class="hint">${esc(d.basis || "")}</td></tr>`;
  }).join("");
  const timeline = (c.timeline || []).map((t) => `<li><div class="when">${time(t.occurred_at)} · ${esc(t.source)}${t.actor_unit ? " · " + esc(unitName(t.actor_unit)) : ""}${traceLink(t.trace_id)}</div>
      <div class="what">${esc(EVENT[t.type] || t.type)}</div><div class="detail">${esc(detailText(t))}</div></li>`).join("");
  const flags = (c.flags || []).map((f) => `<span class="tag orange">${esc(FLAG[f] || f)}</span>`).join(" ");
  app.innerHTML = `<div class="bar"><h2>信访件 ${esc(c.case_no || "")}</h2><span class="tag ${STAGE_TAG[c.stage] || ""}">${esc(c.stage_label || "")}</span>
      ${c.urgent ? '<span class="tag red">重大紧急</span>' : ""} ${flags}<a href="#" class="back">← 返回</a></div>
    <div class="grid two"><div class="card"><h3>基本情况</h3><dl class="facts" id="facts">
      <dt>收到时间</dt><dd>${time(c.received_at)}</dd><dt>渠道</dt><dd>${esc(c.channel || "")}</dd>
      <dt>子公司</dt><dd>${esc(c.subsidiary_name || "")}</dd><dt>登记单位</dt><dd>${esc(unitName(c.receiving_unit))}</dd>
      <dt>类别</dt><dd>${esc(c.category || "")}</dd><dt>问题类型</dt><dd>${esc((state.me.issue_names || {})[c.issue_type] || c.issue_type || "")}</dd>
      <dt>责任单位</dt><dd>${esc(c.assigned_unit_name || c.assigned_unit || "")}</dd><dt>人次</dt><dd>${c.person_times ?? ""}${c.anonymous ? "（匿名）" : ""}</dd>
      <dt>受理日期</dt><dd>${day(c.accepted_on) || "—"}</dd><dt>答复送达</dt><dd>${day(c.served_on) || "—"}</dd>
      <dt>办结日期</dt><dd>${day(c.closed_on) || "—"}</dd><dt>办理结果</dt><dd>${esc(c.outcome || "—")}</dd>
      <dt>对责任单位</dt><dd>${esc(ev.responsible_unit || "—")}</dd><dt>对信访部门</dt><dd>${esc(ev.petition_office || "—")}</dd>
      <dt>复查复核</dt><dd>${esc(c.review_level || "—")}</dd><dt>包案领导</dt><dd>${esc(c.leader || "—")}</dd></dl></div>
      <div class="card"><h3>共享与协作（厂地联动）</h3>${shares ? `<table><thead><tr><th>协作方</th><th>范围</th><th>字段</th><th>起</th><th>状态</th></tr></thead><tbody>${shares}</tbody></table>` : `<div class="empty">未与外部协作方共享</div>`}
      ${c.alerts && c.alerts.length ? `<h3 style="margin-top:12px">相关预警</h3>${alertsTable(c.alerts, false)}` : ""}</div></div>
    <div class="card" style="margin-top:14px"><h3>办理期限</h3>${deadlines ? `<table id="deadlines"><thead><tr><th>期限</th><th>单位</th><th>起算</th><th>最后一日</th><th>状态</th><th>依据</th></tr></thead><tbody>${deadlines}</tbody></table>` : `<div class="empty">尚无期限</div>`}</div>
    <div class="card" style="margin-top:14px" id="exclusion-card"><h3>指标剔除（考核公平）</h3><div id="exclusions" class="loading">正在加载…</div></div>
    <div class="card" style="margin-top:14px"><h3>全过程记录（${(c.timeline || []).length} 条）</h3><ol class="timeline" id="timeline">${timeline}</ol></div>`;
  await exclusionPart(id);
}

async function exclusionPart(id) {
  const box = document.getElementById("exclusions");
  const list = await api(`/kpi-exclusions?case_id=${encodeURIComponent(id)}`);
  const rows = list.items.map((x) => `<tr><td>${esc(x.ground_name)}</td><td>${esc(x.reasons)}</td><td>${esc(x.unit_name || x.unit)}</td>
      <td>${esc(x.approver_unit_name || x.approver_unit)}</td><td><span class="tag ${x.state === "approved" ? "green" : x.state === "refused" ? "red" : "orange"}">${esc(x.state_label)}</span>
      ${x.decision_reason ? `<div class="hint">${esc(x.decision_reason)}</div>` : ""}</td></tr>`).join("");
  const open = list.items.find((x) => x.state === "pending" || x.state === "approved");
  const pending = list.items.find((x) => x.state === "pending");
  let form = "";
  if (!open && ["handler", "leader"].includes(state.me.role)) {
    form = `<form id="exclusion-form" class="search"><select name="ground">${(state.me.exclusion_grounds || []).map((g) => `<option value="${esc(g.id)}">${esc(g.name)}</option>`).join("")}</select>
      <input name="reasons" placeholder="申请理由（10字以上，不写个人信息）" maxlength="1000" required style="flex:1;min-width:280px"><button class="act" type="submit">申请剔除</button></form>`;
  } else if (pending && ["supervisor", "leader", "admin"].includes(state.me.role)) {  // the server checks the level
    form = `<form id="decision-form" class="search"><input name="reason" placeholder="审批意见" maxlength="1000" required style="flex:1;min-width:280px">
      <button class="act" type="submit" name="approved" value="true">同意剔除</button><button class="ghost" type="submit" name="approved" value="false">不予剔除</button></form>`;
  }
  box.classList.remove("loading");
  box.innerHTML = (rows ? `<table id="exclusion-table"><thead><tr><th>类别</th><th>理由</th><th>申请单位</th><th>审批单位</th><th>状态</th></tr></thead><tbody>${rows}</tbody></table>`
    : `<div class="empty">没有剔除申请</div>`) + form + `<div id="exclusion-error"></div>
    <p class="hint">经上一级批准剔除的案件不计入该单位各项比率的分子和分母，件次照实统计；每项指标都列出剔除件数。</p>`;
  const post = async (path, body) => {
    try {
      await api(`/cases/${encodeURIComponent(id)}/${path}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      state.overview = null;
      await exclusionPart(id);
    } catch (err) { document.getElementById("exclusion-error").innerHTML = `<div class="error" role="alert">${esc(err.message)}</div>`; }
  };
  const rf = document.getElementById("exclusion-form");
  if (rf) rf.onsubmit = (e) => { e.preventDefault(); post("kpi-exclusion", { ground: rf.ground.value, reasons: rf.reasons.value }); };
  const df = document.getElementById("decision-form");
  if (df) df.onsubmit = (e) => { e.preventDefault(); post("kpi-exclusion/decision", { approved: e.submitter.value === "true", reason: df.reason.value }); };
}

async function traceView(id) {
  app.innerHTML = `<p class="loading">正在加载链路…</p>`;
  const t = await api("/traces/" + encodeURIComponent(id));
  const end = Math.max(...t.spans.map((s) => s.start_ms + s.duration_ms), 1);
  app.innerHTML = `<div class="bar"><h2>链路 ${esc(id)}</h2><span class="scope">${t.spans.length} 个跨度 · 共 ${end.toFixed(1)} ms</span><a href="#" class="back">← 返回</a></div>
    <div class="card waterfall" id="waterfall">${t.spans.map((s) => `<div class="row"><div title="${esc(JSON.stringify(s.attributes))}">${esc(s.service)} · ${esc(s.name)}${s.linked ? " <span class='tag blue'>批处理</span>" : ""}${s.status === "ERROR" ? " <span class='tag red'>错误</span>" : ""}</div>
      <div class="track"><div class="span${s.linked ? " linked" : ""}" style="left:${(s.start_ms / end * 100).toFixed(2)}%;width:${Math.max(s.duration_ms / end * 100, 0.3).toFixed(2)}%"></div></div>
      <div class="hint">${s.duration_ms.toFixed(1)} ms</div></div>`).join("")}</div>`;
}

// ---------------------------------------------------------------- 每月一题 (issue-level governance)
async function governanceView() {
  app.innerHTML = bar("每月一题") + `<p class="loading">正在加载…</p>`;
  bindMonth();
  const list = await api("/governance?limit=200");
  const rows = list.items.map((g) => `<tr class="click" data-issue-id="${esc(g.issue_id)}"><td>${esc(g.month)}</td><td>${esc(g.issue_type_name)}</td>
      <td>${esc(g.subsidiary_name)}</td><td>${esc(g.owner_unit_name || g.owner_unit)} · ${esc(g.owner)}</td><td>${esc(g.fix)}</td>
      <td>${day(g.deadline)}</td><td><span class="tag ${g.overdue ? "red" : g.state === "done" ? "green" : "blue"}">${esc(g.state_label)}</span>${g.days_late ? ` <span class="hint">${g.days_late}日</span>` : ""}</td></tr>`).join("");
  let form = "";
  if (state.me.headquarters && ["hq_analyst", "supervisor", "leader", "admin"].includes(state.me.role)) {
    const sug = await api("/governance/suggestions?month=" + state.month);
    const issues = Object.entries(state.me.issue_names).map(([id, n]) => `<option value="${esc(id)}">${esc(n)}</option>`).join("");
    const subs = Object.entries(state.me.unit_names).filter(([id]) => /^S\d+$/.test(id)).map(([id, n]) => `<option value="${esc(id)}">${esc(n)}</option>`).join("");
    const units = Object.entries(state.me.unit_names).filter(([id]) => !/^(UNION|GOV)/.test(id)).map(([id, n]) => `<option value="${esc(id)}">${esc(n)}</option>`).join("");
    const hints = sug.items.map((x) => `${esc(x.subsidiary_name)}：${x.top.map((t) => `${esc(t.issue_type_name)} ${t.cases}件（上月${t.previous}，重复${t.repeats}）`).join("；")}`).join("<br>");
    form = `<div class="card" style="margin-top:14px"><h3>确定本月一题</h3><div class="hint" style="margin-bottom:8px">${state.month} 各子公司件次最多的问题：<br>${hints || "本月暂无"}</div>
      <form id="gov-form" class="search">
        <select name="issue_type" required>${issues}</select><select name="subsidiary"><option value="">全集团</option>${subs}</select>
        <select name="owner_unit" required>${units}</select><input name="owner" placeholder="责任人或岗位" maxlength="100" required>
        <input name="why" placeholder="选题理由（如本月件次最多、重复访突出）" maxlength="2000" required style="flex:1;min-width:260px">
        <input name="fix" placeholder="系统性整改措施" maxlength="4000" required style="flex:2;min-width:320px">
        <label>整改期限 <input type="date" name="deadline" required></label><button class="act" type="submit">确定</button></form>
      <div id="gov-error"></div></div>`;
  }
  app.innerHTML = bar("每月一题") + `<div class="card"><h3>已确定的问题（${list.items.length}）</h3>${list.items.length
    ? `<table id="governance-table"><thead><tr><th>月份</th><th>问题类型</th><th>范围</th><th>责任单位·责任人</th><th>整改措施</th><th>期限</th><th>状态</th></tr></thead><tbody>${rows}</tbody></table>`
    : `<div class="empty">还没有确定每月一题</div>`}</div>${form}`;
  bindMonth();
  document.querySelectorAll("tr[data-issue-id]").forEach((tr) => { tr.onclick = () => { location.hash = "#/governance/" + tr.dataset.issueId; }; });
  const f = document.getElementById("gov-form");
  if (f) f.onsubmit = async (e) => {
    e.preventDefault();
    const body = Object.fromEntries([...new FormData(f)].filter(([, v]) => v));
    body.month = state.month;
    try {
      const g = await api("/governance", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      location.hash = "#/governance/" + g.issue_id;
    } catch (err) { document.getElementById("gov-error").innerHTML = `<div class="error" role="alert">${esc(err.message)}</div>`; }
  };
}

async function governanceIssueView(id) {
  app.innerHTML = `<p class="loading">正在加载…</p>`;
  const g = await api("/governance/" + encodeURIComponent(id));
  const rateText = (r) => r && r.value != null ? `${pct(r.value)}%（${r.numerator}/${r.denominator}）` : "—";
  const phases = g.phases.map((p) => `<tr><td>${esc(p.phase_label)}</td><td class="num">${p.months}</td><td class="num">${p.cases}</td><td class="num">${p.cases_per_month}</td>
      ${g.tracked.map((k) => `<td class="num">${rateText(p[k.kpi])}</td>`).join("")}</tr>`).join("");
  const progress = (g.progress || []).map((x) => `<li><div class="when">${day(x.on)}${x.unit ? " · " + esc(unitName(x.unit)) : ""}</div><div class="what">${x.done ? "整改完成" : "进展"}</div><div class="detail">${esc(x.note)}</div></li>`).join("");
  app.innerHTML = `<div class="bar"><h2>每月一题 · ${esc(g.issue_type_name)}（${esc(g.subsidiary_name)}）</h2>
      <span class="tag ${g.overdue ? "red" : g.state === "done" ? "green" : "blue"}">${esc(g.state_label)}</span><a href="#" class="back">← 返回</a></div>
    <div class="grid two"><div class="card"><h3>整改前后对比</h3><div class="hint">${esc(g.note)}</div><div class="chart" id="gov-chart"></div>
        <table id="phases"><thead><tr><th>阶段</th><th class="num">月数</th><th class="num">件次</th><th class="num">月均件次</th>${g.tracked.map((k) => `<th class="num">${esc(k.name)}</th>`).join("")}</tr></thead><tbody>${phases}</tbody></table></div>
      <div class="card"><h3>整改安排</h3><dl class="facts" style="grid-template-columns:6em 1fr">
        <dt>选定月份</dt><dd>${esc(g.month)}</dd><dt>选题理由</dt><dd>${esc(g.why)}</dd><dt>责任单位</dt><dd>${esc(g.owner_unit_name || g.owner_unit)}</dd>
        <dt>责任人</dt><dd>${esc(g.owner)}</dd><dt>整改措施</dt><dd>${esc(g.fix)}</dd><dt>开始</dt><dd>${day(g.starts_on)}</dd>
        <dt>期限</dt><dd>${day(g.deadline)}${g.days_late ? `（${g.overdue ? "已逾期" : "逾期"}${g.days_late}日）` : ""}</dd><dt>完成</dt><dd>${day(g.done_on) || "—"}</dd></dl>
        <h3 style="margin-top:12px">整改进展</h3>${progress ? `<ol class="timeline">${progress}</ol>` : `<div class="empty">尚无进展记录</div>`}
        ${state.me.unit === g.owner_unit && g.state !== "done" ? `<form id="fix-form" class="search"><input name="note" placeholder="进展情况" maxlength="2000" required style="flex:1">
          <label><input type="checkbox" name="done" value="true"> 整改完成</label><button class="act" type="submit">记录</button></form><div id="fix-error"></div>` : ""}</div></div>`;
  const ff = document.getElementById("fix-form");
  if (ff) ff.onsubmit = async (e) => {
    e.preventDefault();
    try {
      await api(`/governance/${encodeURIComponent(id)}/progress`, { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ note: ff.note.value, done: ff.done.checked }) });
      render();
    } catch (err) { document.getElementById("fix-error").innerHTML = `<div class="error" role="alert">${esc(err.message)}</div>`; }
  };
  const colors = { before: "#98a2b3", during: "#f79009", after: "#1b7f3b" };
  chart(document.getElementById("gov-chart"), {
    tooltip: { trigger: "axis" }, legend: { data: ["件次", ...g.tracked.map((k) => k.name)] }, grid: { left: 44, right: 50, top: 36, bottom: 28 },
    xAxis: { type: "category", data: g.months.map((m) => m.month) },
    yAxis: [{ type: "value", minInterval: 1 }, { type: "value", axisLabel: { formatter: (v) => (v * 100).toFixed(0) + "%" }, max: 1 }],
    series: [{ name: "件次", type: "bar", data: g.months.map((m) => ({ value: m.cases, itemStyle: { color: colors[m.phase] } })), barMaxWidth: 24 },
             ...g.tracked.map((k) => ({ name: k.name, type: "line", yAxisIndex: 1, connectNulls: true, data: g.months.map((m) => m[k.kpi] && m[k.kpi].value) }))] });
}

// ---------------------------------------------------------------- router
async function render() {
  generation += 1;
  document.body.dataset.ready = "";
  disposeCharts();
  const [path, query] = (location.hash.slice(1) || "/overview").split("?");
  if (!state.token) return loginView();
  try {
    if (!state.me) state.me = await api("/me");
  } catch (e) { return e === STALE ? undefined : loginView(e.message); }
  if (state.me.liaison) { return loginView("外部协作方请使用共享案件和风险信息接口；工作台面向集团总部和各单位。"); }
  document.getElementById("top").hidden = false;
  document.getElementById("who").innerHTML = `${esc(state.me.unit_name || state.me.unit)} · ${esc(state.me.role_label)}`;
  state.month = state.month || thisMonth();
  const view = path.split("/")[1] || "overview";
  document.querySelectorAll("#nav a").forEach((a) => a.classList.toggle("on", a.dataset.view === view || (view === "case" && a.dataset.view === "cases")));
  try {
    if (view === "overview") { await overviewView(); return; }  // it says when it is ready
    else if (view === "compare") await compareView();
    else if (view === "issues") await issuesView();
    else if (view === "alerts") await alertsView(query);
    else if (view === "overdue") await overdueView();
    else if (view === "cases") await casesView(query || "");
    else if (view === "case") await caseView(path.split("/")[2]);
    else if (view === "trace") await traceView(path.split("/")[2]);
    else if (view === "governance" && path.split("/")[2]) await governanceIssueView(path.split("/")[2]);
    else if (view === "governance") await governanceView();
    else if (view === "login") { location.hash = "#/overview"; return; }
    else app.innerHTML = `<div class="error">没有这个页面</div>`;
    document.querySelectorAll("a.back").forEach((a) => { a.onclick = (e) => { e.preventDefault(); history.back(); }; });
    document.body.dataset.ready = view;
  } catch (e) {
    if (e === STALE) return;  // another view took over
    app.insertAdjacentHTML("afterbegin", `<div class="error" role="alert">${esc(e.message)}</div>`);
    document.body.dataset.ready = "error";
  }
}
window.addEventListener("unhandledrejection", (e) => {
  if (e.reason === STALE) return;
  console.error("unhandled", e.reason && (e.reason.stack || e.reason.message || e.reason));
  app.insertAdjacentHTML("afterbegin", `<div class="error" role="alert">${esc((e.reason && e.reason.message) || e.reason)}</div>`);
  document.body.dataset.ready = "error";
});
window.addEventListener("hashchange", () => { document.body.dataset.ready = ""; document.body.dataset.trends = ""; render(); });
render();
