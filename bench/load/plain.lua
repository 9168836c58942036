wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"channel":"网上信访","summary":"基准测试：三季度绩效工资未足额发放"}'
