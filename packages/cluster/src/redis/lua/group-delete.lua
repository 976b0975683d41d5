-- group-delete.lua: delete a group, answering its members (whose per-user index entries the caller drops).
-- KEYS[1] hash of the group's attributes   (<prefix>:{grp:<gid>}:meta; exists while the group does)
-- KEYS[2] hash member -> since             (<prefix>:{grp:<gid>}:members)
-- ARGV (none)
-- Returns {1, members...}, or {0} when the group did not exist.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {0}
end
local out = {1}
for _, m in ipairs(redis.call('HKEYS', KEYS[2])) do
  out[#out + 1] = m
end
redis.call('DEL', KEYS[1], KEYS[2])
return out
