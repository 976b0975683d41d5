-- group-restart.lua: the group's history started again at seq 1; every member's since becomes 0.
-- KEYS[1] hash member -> since             (<prefix>:{grp:<gid>}:members)
-- ARGV (none)
-- Returns the number of members whose since changed.
local all = redis.call('HGETALL', KEYS[1])
local changed = 0
for i = 1, #all, 2 do
  if all[i + 1] ~= '0' then
    redis.call('HSET', KEYS[1], all[i], 0)
    changed = changed + 1
  end
end
return changed
