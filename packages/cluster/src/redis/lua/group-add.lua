-- group-add.lua: add members to an existing group, within the member cap (all or nothing).
-- KEYS[1] hash of the group's attributes   (<prefix>:{grp:<gid>}:meta; exists while the group does)
-- KEYS[2] hash member -> since             (<prefix>:{grp:<gid>}:members)
-- ARGV[1] since: the join seq given to members not already in
-- ARGV[2] most members (the cap)
-- ARGV[3..] the members, without duplicates
-- Returns {1, added members...}; {0} when the new members would take the group over the cap (nothing
-- written; members already in never count, so re-adding only them is never refused); {-1} when the
-- group does not exist.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {-1}
end
local fresh = {}
for i = 3, #ARGV do
  if redis.call('HEXISTS', KEYS[2], ARGV[i]) == 0 then
    fresh[#fresh + 1] = ARGV[i]
  end
end
if #fresh > 0 and redis.call('HLEN', KEYS[2]) + #fresh > tonumber(ARGV[2]) then
  return {0}
end
local out = {1}
for _, m in ipairs(fresh) do
  if redis.call('HSETNX', KEYS[2], m, ARGV[1]) == 1 then
    out[#out + 1] = m
  end
end
return out
