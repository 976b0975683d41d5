-- group-put.lua: create a group or replace its name and members, within the member cap.
-- KEYS[1] hash of the group's attributes   (<prefix>:{grp:<gid>}:meta; name; exists while the group does)
-- KEYS[2] hash member -> since             (<prefix>:{grp:<gid>}:members)
-- ARGV[1] name
-- ARGV[2] since: the join seq given to members not already in
-- ARGV[3] most members (the cap)
-- ARGV[4..] the members, without duplicates
-- Returns {1, number added, added members..., removed members...}, or {0} when the members exceed
-- the cap (then nothing is written). Members already in keep their since; those not listed are removed.
local n = #ARGV - 3
if n > tonumber(ARGV[3]) then
  return {0}
end
local want = {}
for i = 4, #ARGV do
  want[ARGV[i]] = true
end
local removed = {}
for _, m in ipairs(redis.call('HKEYS', KEYS[2])) do
  if not want[m] then
    redis.call('HDEL', KEYS[2], m)
    removed[#removed + 1] = m
  end
end
local out = {1, 0}
for i = 4, #ARGV do
  if redis.call('HSETNX', KEYS[2], ARGV[i], ARGV[2]) == 1 then
    out[#out + 1] = ARGV[i]
  end
end
out[2] = #out - 2
for _, m in ipairs(removed) do
  out[#out + 1] = m
end
redis.call('HSET', KEYS[1], 'name', ARGV[1])
return out
