-- offline-peek.lua: read up to N queued messages, oldest first, without removing anything.
-- KEYS[1] list of fps, oldest first    (<prefix>:{<user>}:offline:q)
-- KEYS[2] hash fp -> stored message     (<prefix>:{<user>}:offline:m)
-- ARGV[1] limit (> 0)
-- Returns a flat array {fp1, msg1, fp2, msg2, ...}.
local fps = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
local out = {}
for _, fp in ipairs(fps) do
  local msg = redis.call('HGET', KEYS[2], fp)
  if msg then
    out[#out + 1] = fp
    out[#out + 1] = msg
  end
end
return out
