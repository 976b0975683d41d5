-- history-index.lua: a user's conversation index gains or refreshes one conversation.
-- KEYS[1] zset conversation id -> last activity, ms   (<prefix>:{<user>}:convs)
-- ARGV[1] conversation id
-- ARGV[2] activity: the message's sentAt, ms (a member's score only moves forward: ZADD GT, Redis >= 6.2)
-- ARGV[3] cutoff, ms (now - ttl): members with a score <= cutoff are stale (their conversation is gone)
-- ARGV[4] ttl, ms: the index expires this long after its last update
-- Stale members are looked for only when the index gained a member (ZADD answers 1): only then can it
-- grow, and a refresh of a known conversation, the usual case, costs no range scan. Reads skip them.
-- Returns 1.
-- Runs after history-append-core.lua (scripts.ts joins them): the same `index` the appends use.
index({KEYS[1]}, ARGV[2], ARGV[3], ARGV[4], ARGV[1])
return 1
