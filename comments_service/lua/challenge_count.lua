-- The guests' challenge difficulty: how much an address and its network asked lately.
-- KEYS[1] the address's counter, KEYS[2] its network's; ARGV[1] window seconds, ARGV[2] weight
-- (0 reads without counting). A counter's window starts with its first count; it never lives longer.
-- returns {address count, network count}
local out = {}
for i = 1, 2 do
  local n
  if tonumber(ARGV[2]) > 0 then
    n = redis.call('INCRBY', KEYS[i], ARGV[2])
    if redis.call('TTL', KEYS[i]) < 0 then redis.call('EXPIRE', KEYS[i], ARGV[1]) end
  else
    n = tonumber(redis.call('GET', KEYS[i]) or 0)
  end
  out[i] = n
end
return out
