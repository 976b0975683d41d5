-- route-claim.lua: claim a user's route, applying MobileIMSDK's firstLoginTime kick rule made
-- cluster-wide (architecture §6). Mirrors decideClaim() in src/route-store.ts exactly.
-- KEYS[1] route hash of the user   (<prefix>:{<user>}:route; fields node, conn, flt, since)
-- ARGV[1] nodeId of the claim
-- ARGV[2] connId of the claim
-- ARGV[3] firstLoginTime the server answers (stored as flt)
-- ARGV[4] since (ms since epoch)
-- ARGV[5] clientFirstLoginTime (what the client sent; <= 0 = fresh login)
-- ARGV[6] staleConnId, or '' (a current route with this conn counts as absent: dead node)
-- Returns {tag, node, conn, flt, since} where the four fields describe the route that was there
-- before (absent for 'new' and 'same'):
--   'new'      no route: claimed
--   'same'     the route already had this conn: refreshed, nothing replaced
--   'stale'    the route had staleConnId: overwritten, nothing replaced (fields = the dropped route)
--   'kick'     fresh or newer login: claimed, the previous session must be kicked (code 1)
--   'equal'    same firstLoginTime (same device reconnecting): claimed, previous not kicked
--   'rejected' older login: nothing changed (fields = the current route)
local key = KEYS[1]
local conn = ARGV[2]
local cur = redis.call('HMGET', key, 'node', 'conn', 'flt', 'since')

local function write()
  redis.call('HSET', key, 'node', ARGV[1], 'conn', conn, 'flt', ARGV[3], 'since', ARGV[4])
end

if not cur[2] then
  write()
  return {'new'}
end
if ARGV[6] ~= '' and cur[2] == ARGV[6] then
  write()
  return {'stale', cur[1], cur[2], cur[3], cur[4]}
end
if cur[2] == conn then
  write()
  return {'same'}
end

local clientFlt = tonumber(ARGV[5])
local curFlt = tonumber(cur[3])
if clientFlt <= 0 or clientFlt > curFlt then
  write()
  return {'kick', cur[1], cur[2], cur[3], cur[4]}
end
if clientFlt == curFlt then
  write()
  return {'equal', cur[1], cur[2], cur[3], cur[4]}
end
return {'rejected', cur[1], cur[2], cur[3], cur[4]}
