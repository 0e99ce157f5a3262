-- One round trip for many counts: the epoch, each article's version, and the count stored under
-- the key they form. Count keys carry the version so that a count loaded from PostgreSQL before a
-- write committed is stored under the version that write retired, and is never read again.
-- KEYS[1] epoch key, KEYS[2..n+1] version keys; ARGV[1] seed, ARGV[2..n+1] count key prefixes
local epoch = redis.call('GET', KEYS[1])
if not epoch then
  redis.call('SET', KEYS[1], ARGV[1], 'NX')
  epoch = redis.call('GET', KEYS[1])
end
local versions, counts = {}, {}
for i = 2, #KEYS do
  local version = redis.call('GET', KEYS[i])
  if not version then
    redis.call('SET', KEYS[i], ARGV[1], 'NX')
    version = redis.call('GET', KEYS[i])
  end
  versions[i - 1] = version
  counts[i - 1] = redis.call('GET', ARGV[i] .. epoch .. ':' .. version) or false
end
return {epoch, versions, counts}
