-- Bump an article's version and announce it on the invalidation channel in the same step, so that
-- no process can see the new version in Redis while its in-process copy still waits for the news.
-- Then, when given, publish the live event for the article's readers: after the invalidation, in
-- the same round trip (processes also drop their copy when a live event reaches them, api/live.py).
-- KEYS[1] version key; ARGV[1] seed, ARGV[2] channel, ARGV[3] message[, ARGV[4] live channel, ARGV[5] event]
local version
if redis.call('EXISTS', KEYS[1]) == 1 then
  version = redis.call('INCR', KEYS[1])
else
  redis.call('SET', KEYS[1], ARGV[1])
  version = tonumber(ARGV[1])
end
redis.call('PUBLISH', ARGV[2], ARGV[3])
if ARGV[4] then
  redis.call('PUBLISH', ARGV[4], ARGV[5])
end
return version
