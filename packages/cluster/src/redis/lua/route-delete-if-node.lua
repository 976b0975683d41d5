-- route-delete-if-node.lua: compare-and-delete of a user's route by node (purgeNode).
-- KEYS[1] route hash of the user   (<prefix>:{<user>}:route)
-- ARGV[1] nodeId that must still be named by the route
-- Returns 1 when deleted, 0 when the route is gone or names another node.
if redis.call('HGET', KEYS[1], 'node') == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
