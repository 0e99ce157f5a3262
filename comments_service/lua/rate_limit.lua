-- GCRA (generic cell rate algorithm): one key per limited subject, holding the theoretical
-- arrival time. Allows `burst` requests at once, then one per `interval` milliseconds.
-- KEYS[1] key; ARGV[1] interval ms, ARGV[2] burst, ARGV[3] cost (1)
-- returns {allowed (1/0), retry_after_ms}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval * cost
local allow_at = new_tat - interval * burst
if allow_at > now then
  return {0, allow_at - now}
end
redis.call('SET', KEYS[1], new_tat, 'PX', new_tat - now + 1000)
return {1, 0}
