-- One round trip for a cached read: the cache epoch, the article's version, and the page stored
-- under the key they form. Missing epoch/version are created (never reset to a small number, so
-- keys from before an eviction cannot be mistaken for current ones).
-- KEYS[1] epoch key, KEYS[2] version key; ARGV[1] key prefix, ARGV[2] key suffix, ARGV[3] seed
local epoch = redis.call('GET', KEYS[1])
if not epoch then
  redis.call('SET', KEYS[1], ARGV[3], 'NX')
  epoch = redis.call('GET', KEYS[1])
end
local version = redis.call('GET', KEYS[2])
if not version then
  redis.call('SET', KEYS[2], ARGV[3], 'NX')
  version = redis.call('GET', KEYS[2])
end
local key = ARGV[1] .. epoch .. ':' .. version .. ':' .. ARGV[2]
return {epoch, version, redis.call('GET', key)}
