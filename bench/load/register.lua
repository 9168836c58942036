-- wrk script: POST a registration (a letter to S1's petition office about wages).
-- Usage: wrk -t2 -c16 -d10s -s bench/load/register.lua http://127.0.0.1:8001/petitions
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer demo-s1-registrar"
wrk.body = '{"channel":"网上信访","received_at":"2026-11-20T09:30:00+08:00","receiving_unit":"S1-XFB","category":"申诉求决类","issue_type":"wages","summary":"基准测试：三季度绩效工资未足额发放","petitioners":[{"name":"基准","unit":"S1-U2"}]}'
