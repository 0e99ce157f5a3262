-- One round trip for a cached read: the cache epoch, the article's version and structure version,
-- the article header stored under the version, and the page's tail (see domain/page_parts.py):
-- a lasting tail is stored under the structure version (appends leave it), any other under the
-- version. Missing epoch/versions are created (never reset to a small number, so keys from before
-- an eviction cannot be mistaken for current ones).
-- KEYS[1] epoch key, KEYS[2] version key, KEYS[3] structure key
-- ARGV[1] key prefix, ARGV[2] key suffix ('' for the header alone), ARGV[3] seed
-- returns {epoch, version, structure, header|false[, tail|false, lasting 1/0]}
local function current(key)
  local value = redis.call('GET', key)
  if not value then
    redis.call('SET', key, ARGV[3], 'NX')
    value = redis.call('GET', key)
  end
  return value
end
local epoch = current(KEYS[1])
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
