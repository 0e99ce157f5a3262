-- One round trip for many counts: the epoch, each article's version, and the count stored for it.
-- A count is stored with the stamp "{epoch}:{version}:" it was read under, so that a count loaded
-- from PostgreSQL before a write committed carries the version that write retired, and is never
-- read again. Every key is in KEYS, all in one Redis Cluster slot: a cluster's caller sends one
-- call per slot of the articles asked for (cache.py), one Redis the whole list.
-- The ids are the caller's, so a version this read creates lives only about as long as what is
-- cached under it (ARGV[3]), renewed by reads, and is created again from a time-based seed once
-- gone; the epoch lives ARGV[2], refreshed by reads, as in read_page.lua.
-- KEYS[1] epoch key, then for each article its version key and its count key
-- ARGV[1] seed, ARGV[2] epoch TTL, ARGV[3] TTL of a version this read creates (seconds)
-- returns {epoch, versions, counts (false where none is stored under the current stamp)}
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
for i = 2, #KEYS, 2 do
  local version = redis.call('GET', KEYS[i])
  if not version then
    version = ARGV[1]
    redis.call('SET', KEYS[i], version, 'EX', read_ttl)
  elseif redis.call('TTL', KEYS[i]) < read_ttl / 2 then
    redis.call('EXPIRE', KEYS[i], read_ttl)
  end
  local n = #versions + 1
  versions[n] = version
  local stamp = epoch .. ':' .. version .. ':'
  local stored = redis.call('GET', KEYS[i + 1])
  if stored and string.sub(stored, 1, #stamp) == stamp then
    counts[n] = string.sub(stored, #stamp + 1)
  else
    counts[n] = false
  end
end
return {epoch, versions, counts}
