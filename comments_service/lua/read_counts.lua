-- One round trip for many counts: the epoch, each article's version, and the count stored under
-- the key they form. Count keys carry the version so that a count loaded from PostgreSQL before a
-- write committed is stored under the version that write retired, and is never read again.
-- Versions (and the epoch) this read creates expire, and are created again from a time-based
-- seed, as in read_page.lua: the ids are the caller's, so nothing they name may stay forever.
-- KEYS[1] epoch key, KEYS[2..n+1] version keys
-- ARGV[1] seed, ARGV[2] version TTL (seconds), ARGV[3..n+2] count key prefixes
local ttl = ARGV[2]
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
    redis.call('SET', KEYS[i], version, 'EX', ttl)
  end
  versions[i - 1] = version
  counts[i - 1] = redis.call('GET', ARGV[i + 1] .. epoch .. ':' .. version) or false
end
return {epoch, versions, counts}
