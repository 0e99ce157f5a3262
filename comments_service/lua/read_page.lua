-- One round trip for a cached read: the cache epoch, the article's version and structure version,
-- the article header stored under the version, and the page's tail (see domain/page_parts.py):
-- a lasting tail is stored under the structure version (appends leave it), any other under the
-- version.
-- Any reader may name any article, so a version this read has to create lives only about as long
-- as what is cached under it (ARGV[5], the longest page or count TTL), and reads renew it (once
-- half of that is gone): only a bump gives a version a long life (bump.lua), so one address
-- reading made-up ids holds at most what it read in the last ARGV[5] seconds. A version that is
-- gone (expired or evicted) is created again from a time-based seed, never from a small number:
-- versions only grow by one a write, so the seed (milliseconds now) exceeds every number the key
-- held before, and pages cached under those can never be mistaken for current ones; an early
-- expiry costs at most a refill. The epoch, on every key, lives ARGV[4] and is kept alive while
-- reads come (refreshed once half its time is gone), so it never retires the whole cache at once.
-- KEYS[1] epoch key, KEYS[2] version key, KEYS[3] structure key
-- ARGV[1] key prefix, ARGV[2] key suffix ('' for the header alone), ARGV[3] seed,
-- ARGV[4] epoch TTL, ARGV[5] TTL of a version this read creates (seconds)
-- returns {epoch, version, structure, header|false[, tail|false, lasting 1/0]}
local read_ttl = tonumber(ARGV[5])
local function current(key)
  local value = redis.call('GET', key)
  if not value then
    value = ARGV[3]
    redis.call('SET', key, value, 'EX', read_ttl)
  elseif redis.call('TTL', key) < read_ttl / 2 then
    redis.call('EXPIRE', key, read_ttl)
  end
  return value
end
local epoch = redis.call('GET', KEYS[1])
if not epoch then
  epoch = ARGV[3]
  redis.call('SET', KEYS[1], epoch, 'EX', ARGV[4])
elseif redis.call('TTL', KEYS[1]) < tonumber(ARGV[4]) / 2 then
  redis.call('EXPIRE', KEYS[1], ARGV[4])
end
local version = current(KEYS[2])
local structure = current(KEYS[3])
local base = ARGV[1] .. epoch .. ':'
local header = redis.call('GET', base .. version .. ':h')
if ARGV[2] == '' then
  return {epoch, version, structure, header}
end
local tail = redis.call('GET', base .. 's' .. structure .. ':' .. ARGV[2])
if tail then
  return {epoch, version, structure, header, tail, 1}
end
return {epoch, version, structure, header, redis.call('GET', base .. version .. ':' .. ARGV[2]), 0}
