-- offline-budget.lua: charge (or refund) bytes to one sender's offline-storage budget of the current window.
-- KEYS[1] the sender's counter of bytes stored offline in the window   (<prefix>:{<sender>}:offline:budget)
-- ARGV[1] bytes: > 0 charges them, < 0 refunds them (never below 0)
-- ARGV[2] most bytes per window
-- ARGV[3] window, ms: the counter expires this long after the charge that created it
-- Returns 1 when charged (or refunded), 0 when the charge would exceed the budget (nothing added).
local add = tonumber(ARGV[1])
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if add < 0 then
  if used > 0 then
    -- DECRBY and INCRBY keep the window's expiry.
    local n = redis.call('DECRBY', KEYS[1], -add)
    if n < 0 then redis.call('INCRBY', KEYS[1], -n) end
  end
  return 1
end
if used + add > tonumber(ARGV[2]) then
  return 0
end
redis.call('INCRBY', KEYS[1], add)
if redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return 1
