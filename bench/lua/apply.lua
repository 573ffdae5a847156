-- Server-side apply of Deployments: PATCH application/apply-patch+yaml, each request a change
-- (the replica count cycles), spread over BENCH_OBJECTS objects so that clients rarely collide.
local ns = os.getenv("BENCH_NS")
local objects = tonumber(os.getenv("BENCH_OBJECTS"))
init = function(args)
  counter = 0
  headers = {}
  for k, v in pairs(wrk.headers) do headers[k] = v end
  headers["Content-Type"] = "application/apply-patch+yaml"
end
request = function()
  counter = counter + 1
  local name = "d-" .. (counter % objects)
  local replicas = (math.floor(counter / objects) % 5) + 1
  local body = '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"' .. name
    .. '","labels":{"app":"bench"}},"spec":{"replicas":' .. replicas
    .. ',"selector":{"matchLabels":{"app":"bench"}},"template":{"metadata":{"labels":'
    .. '{"app":"bench"}},"spec":{"containers":[{"name":"web","image":"nginx:1.27",'
    .. '"ports":[{"containerPort":80}],"env":[{"name":"MODE","value":"fast"}]}]}}}}'
  local path = "/apis/apps/v1/namespaces/" .. ns .. "/deployments/" .. name .. "?fieldManager=bench"
  return wrk.format("PATCH", path, headers, body)
end
