-- One round trip for many counts: the epoch, each article's version, and the count stored under
-- the key they form. Count keys carry the version so that a count loaded from PostgreSQL before a
-- write committed is stored under the version that write retired, and is never read again.
-- The ids are the caller's, so a version this read creates lives only about as long as what is
-- cached under it (ARGV[3]), renewed by reads, and is created again from a time-based seed once gone; the epoch
-- lives ARGV[2], refreshed by reads, as in read_page.lua.
-- KEYS[1] epoch key, KEYS[2..n+1] version keys
-- ARGV[1] seed, ARGV[2] epoch TTL, ARGV[3] TTL of a version this read creates (seconds),
-- ARGV[4..n+3] count key prefixes
local ttl = ARGV[2]
local read_ttl = tonumber(ARGV[3])
local epoch = redis.call('GET', KEYS[1])
if not epoch then
  epoch = ARGV[1]
  redis.call('SET', KEYS[1], epoch, 'EX', ttl)
elseif redis.call('TTL', KEYS[1]) < tonumber(ttl) / 2 then
  redis.call('EXPIRE', KEYS[1], ttl)
end
local versions, counts = {}, {}
for i = 2, #KEYS do
  local version = redis.call('GET', KEYS[i])
  if not version then
    version = ARGV[1]
    redis.call('SET', KEYS[i], version, 'EX', read_ttl)
  elseif redis.call('TTL', KEYS[i]) < read_ttl / 2 then
    redis.call('EXPIRE', KEYS[i], read_ttl)
  end
  versions[i - 1] = version
  counts[i - 1] = redis.call('GET', ARGV[i + 2] .. epoch .. ':' .. version) or false
end
return {epoch, versions, counts}
