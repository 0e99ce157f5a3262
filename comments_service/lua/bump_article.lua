-- Bump an article's version (and, unless the change was an append, its structure version: see
-- domain/page_parts.py) and announce it on the invalidation channel in the same step, so that no
-- process can see the new version in Redis while its in-process copy still waits for the news.
-- Then, when given, publish the live event for the article's readers: after the invalidation, in
-- the same round trip (processes also drop their copy when a live event reaches them, api/live.py).
-- A missing version starts from a time-based seed and every bump restarts the key's (long) time to
-- live, as in bump.lua.
-- KEYS[1] version key, KEYS[2] structure key
-- ARGV[1] seed, ARGV[2] '1' structural / '0' append, ARGV[3] channel, ARGV[4] message,
-- ARGV[5] version TTL (seconds) [, ARGV[6] live channel, ARGV[7] event]
local function bump(key)
  local version
  if redis.call('EXISTS', key) == 1 then
    version = redis.call('INCR', key)
  else
    version = tonumber(ARGV[1])
    redis.call('SET', key, version)
  end
  redis.call('EXPIRE', key, ARGV[5])
  return version
end
local version = bump(KEYS[1])
if ARGV[2] == '1' then
  bump(KEYS[2])
end
redis.call('PUBLISH', ARGV[3], ARGV[4])
if ARGV[6] then
  redis.call('PUBLISH', ARGV[6], ARGV[7])
end
return version
