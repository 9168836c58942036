-- wrk script: POST a registration (a letter to S1's petition office about wages), received an hour
-- ago whatever day the benchmark runs (so that no clock is overdue and no 督办 follows).
-- Usage: wrk -t2 -c16 -d10s -s bench/load/register.lua http://127.0.0.1:8001/petitions
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer demo-s1-registrar"
local received = os.date("!%Y-%m-%dT%H:%M:%S+00:00", os.time() - 3600)
wrk.body = '{"channel":"网上信访","received_at":"' .. received .. '","receiving_unit":"S1-XFB","category":"申诉求决类","issue_type":"wages","summary":"基准测试：三季度绩效工资未足额发放","petitioners":[{"name":"基准","unit":"S1-U2"}]}'
