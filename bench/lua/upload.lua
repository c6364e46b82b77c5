-- multipart/form-data upload of a 1 MB file plus one text field.
local boundary = "----php-pool-bench-boundary-7d93b1"
local file = string.rep("ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", 1048576 / 32)
wrk.method = "POST"
wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. boundary
wrk.body = "--" .. boundary .. "\r\n" ..
  "Content-Disposition: form-data; name=\"title\"\r\n\r\n" ..
  "bench\r\n" ..
  "--" .. boundary .. "\r\n" ..
  "Content-Disposition: form-data; name=\"file\"; filename=\"data.bin\"\r\n" ..
  "Content-Type: application/octet-stream\r\n\r\n" ..
  file .. "\r\n" ..
  "--" .. boundary .. "--\r\n"
