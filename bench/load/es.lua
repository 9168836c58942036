wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"channel":"网上信访","receiving_unit":"S1-XFB","category":"申诉求决类","issue_type":"wages","summary":"基准测试：三季度绩效工资未足额发放"}'
