-- Bump a version (article or global epoch). A missing version starts from a time-based seed
-- rather than 1, so pages cached under an evicted or expired version number can never match
-- again (see read_page.lua). Every bump restarts the key's time to live (ARGV[2], long: a
-- written article keeps its version while its pages are cached); a version that reads alone
-- created lives far shorter (read_page.lua), and no version key is permanent.
-- KEYS[1] version key; ARGV[1] seed, ARGV[2] version TTL (seconds)
local version
if redis.call('EXISTS', KEYS[1]) == 1 then
  version = redis.call('INCR', KEYS[1])
else
  version = tonumber(ARGV[1])
  redis.call('SET', KEYS[1], version)
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return version
