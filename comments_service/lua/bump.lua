-- Bump a version (article or global epoch). A missing version starts from a time-based seed
-- rather than 1, so pages cached under an evicted version number can never match again.
-- KEYS[1] version key; ARGV[1] seed
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('INCR', KEYS[1])
end
redis.call('SET', KEYS[1], ARGV[1])
return tonumber(ARGV[1])
