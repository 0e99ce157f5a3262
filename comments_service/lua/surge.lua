-- A new author's comment on an article (services/surge.py): one sorted set per article of the new
-- authors of the last window, scored by time, trimmed to the threshold's size and expiring with the
-- window; at the threshold, a mark that throttles how often the post path moves the surge on.
-- KEYS[1] the article's set, KEYS[2] its mark; ARGV[1] author, ARGV[2] window ms, ARGV[3] threshold,
-- ARGV[4] mark ttl ms
-- returns {distinct new authors in the window (at most the threshold), 1 when this call set the mark}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[2])
local threshold = tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(threshold + 1))
redis.call('PEXPIRE', KEYS[1], window)
local count = redis.call('ZCARD', KEYS[1])
if count < threshold then
  return {count, 0}
end
if redis.call('SET', KEYS[2], '1', 'NX', 'PX', tonumber(ARGV[4])) then
  return {count, 1}
end
return {count, 0}
