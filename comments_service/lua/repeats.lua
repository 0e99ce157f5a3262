-- Recent texts for the repeat and copy-campaign checks (services/repeats.py), in one round trip.
-- Each key is a sorted set of signatures scored by the time they were seen, trimmed to its window
-- and to `cap` members, and expiring with its window: the state stays bounded.
-- KEYS[1]: the author's recent texts (may be absent: no author key)
-- KEYS[2..]: the site's campaign bands of this text (absent when the text is too short)
-- ARGV: now_ms, author_window_ms, campaign_window_ms, cap, author_member, band_member, has_author (1/0)
-- returns {the author's earlier members, the bands' earlier members (distinct)}
local now = tonumber(ARGV[1])
local author_window = tonumber(ARGV[2])
local campaign_window = tonumber(ARGV[3])
local cap = tonumber(ARGV[4])
local earlier = {}
local first = 1
if ARGV[7] == '1' then
  first = 2
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - author_window)
  earlier = redis.call('ZRANGE', KEYS[1], 0, -1)
  redis.call('ZADD', KEYS[1], now, ARGV[5])
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(cap + 1))
  redis.call('PEXPIRE', KEYS[1], author_window)
end
local seen = {}
local others = {}
for i = first, #KEYS do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - campaign_window)
  local members = redis.call('ZREVRANGE', KEYS[i], 0, cap - 1)
  for _, m in ipairs(members) do
    if not seen[m] then
      seen[m] = true
      others[#others + 1] = m
    end
  end
  redis.call('ZADD', KEYS[i], now, ARGV[6])
  redis.call('ZREMRANGEBYRANK', KEYS[i], 0, -(cap + 1))
  redis.call('PEXPIRE', KEYS[i], campaign_window)
end
return {earlier, others}
