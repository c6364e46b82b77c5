-- The framework-like app: a mix of pages, each request with one of 256 session cookies
-- (a returning visitor; few enough collisions that session locking rarely serializes).
local paths = {
  "/app/", "/app/?page=2", "/app/product/17", "/app/product/123", "/app/cart",
  "/app/cart/add/42", "/app/about", "/app/product/200",
}
local n = 0
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
request = function()
  n = n + 1
  local path = paths[(n % #paths) + 1]
  local sid = string.format("bench%026d", math.random(0, 255))
  return wrk.format("GET", path, { ["Cookie"] = "PHPSESSID=" .. sid })
end
