-- One round trip for a cached read: the cache epoch, the article's version and structure version,
-- the article header stored under the version, and the page's tail (see domain/page_parts.py):
-- a lasting tail is stored under the structure version (appends leave it), any other under the
-- version.
-- Every key is passed in KEYS and all of them share one Redis Cluster slot (cache.py), so what a
-- version or an epoch names cannot be in the key: the header and each tail have one key each, and
-- the value starts with the stamp it was stored under ("{epoch}:{version}\n" or, for a lasting
-- tail, "{epoch}:s{structure}\n"). A value under any other stamp is a miss, as a key under older
-- numbers was.
-- Any reader may name any article, so a version this read has to create lives only about as long
-- as what is cached under it (ARGV[3], the longest page or count TTL), and reads renew it (once
-- half of that is gone): only a bump gives a version a long life (bump.lua), so one address
-- reading made-up ids holds at most what it read in the last ARGV[3] seconds. A version that is
-- gone (expired or evicted) is created again from a time-based seed, never from a small number:
-- versions only grow by one a write, so the seed (milliseconds now) exceeds every number the key
-- held before, and pages stored under those can never be mistaken for current ones; an early
-- expiry costs at most a refill. The epoch lives ARGV[2] and is kept alive while reads come
-- (refreshed once half its time is gone), so it never retires the whole cache at once.
-- KEYS[1] epoch key, KEYS[2] version key, KEYS[3] structure key, KEYS[4] header key
-- [, KEYS[5] tail key: absent for the header alone]
-- ARGV[1] seed, ARGV[2] epoch TTL, ARGV[3] TTL of a version this read creates (seconds)
-- returns {epoch, version, structure, header|false[, tail|false, lasting 1/0]}
local read_ttl = tonumber(ARGV[3])
local function current(key)
  local value = redis.call('GET', key)
  if not value then
    value = ARGV[1]
    redis.call('SET', key, value, 'EX', read_ttl)
  elseif redis.call('TTL', key) < read_ttl / 2 then
    redis.call('EXPIRE', key, read_ttl)
  end
  return value
end
local function under(value, stamp)
  if value and string.sub(value, 1, #stamp) == stamp then
    return string.sub(value, #stamp + 1)
  end
  return false
end
local epoch = redis.call('GET', KEYS[1])
if not epoch then
  epoch = ARGV[1]
  redis.call('SET', KEYS[1], epoch, 'EX', ARGV[2])
elseif redis.call('TTL', KEYS[1]) < tonumber(ARGV[2]) / 2 then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
local version = current(KEYS[2])
local structure = current(KEYS[3])
local header = under(redis.call('GET', KEYS[4]), epoch .. ':' .. version .. '\n')
if not KEYS[5] then
  return {epoch, version, structure, header}
end
local stored = redis.call('GET', KEYS[5])
local tail = under(stored, epoch .. ':s' .. structure .. '\n')
if tail then
  return {epoch, version, structure, header, tail, 1}
end
return {epoch, version, structure, header, under(stored, epoch .. ':' .. version .. '\n'), 0}
