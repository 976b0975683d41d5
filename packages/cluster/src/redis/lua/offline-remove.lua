-- offline-remove.lua: remove one message by fp (the receiver acked it).
-- KEYS[1] list of fps, oldest first    (<prefix>:{<user>}:offline:q)
-- KEYS[2] hash fp -> stored message     (<prefix>:{<user>}:offline:m)
-- ARGV[1] fp
-- Returns 1 when the message was queued (and is now removed), 0 otherwise.
if redis.call('HDEL', KEYS[2], ARGV[1]) == 1 then
  redis.call('LREM', KEYS[1], 1, ARGV[1])
  return 1
end
return 0
