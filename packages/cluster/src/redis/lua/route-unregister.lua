-- route-unregister.lua: compare-and-delete of a user's route on logout/disconnect.
-- KEYS[1] route hash of the user   (<prefix>:{<user>}:route)
-- ARGV[1] connId that must still own the route
-- Returns the route's nodeId when it was deleted, nil (false) when the route is gone or owned
-- by another connection (the user logged in again elsewhere: keep the newer claim).
local cur = redis.call('HMGET', KEYS[1], 'node', 'conn')
if cur[2] == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return cur[1]
end
return false
