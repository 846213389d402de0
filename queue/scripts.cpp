#include "queue/scripts.hpp"

#include "queue/sha1.hpp"

namespace wa::queue {

namespace {

// Runs the ops in ARGV[first … last] (see finish_script()).
constexpr const char* kRunOps = R"lua(
local function wa_copy(src, dst, first, count)
  local pos, last = first, first + count - 1
  if redis.call('EXISTS', dst) == 0 then
    -- A new list: copy the whole source inside Redis (node by node, no element by element
    -- work), keep the block, drop the TTL the copy took from the source.
    redis.call('COPY', src, dst)
    redis.call('LTRIM', dst, first, last)
    redis.call('PERSIST', dst)
    return
  end
  while pos <= last do
    local e = math.min(pos + 4999, last)
    local chunk = redis.call('LRANGE', src, pos, e)
    if #chunk == 0 then break end
    for s = 1, #chunk, 1000 do
      redis.call('RPUSH', dst, unpack(chunk, s, math.min(s + 999, #chunk)))
    end
    pos = e + 1
  end
end

local function wa_deal(src, count, dsts)
  -- Contact i goes to dsts[i mod k + 1]: per chunk, each target's elements are a stride.
  local k = #dsts
  local pos = 0
  while pos < count do
    local e = math.min(pos + 9999, count - 1)
    local chunk = redis.call('LRANGE', src, pos, e)
    local n = #chunk
    if n == 0 then break end
    for j = 1, k do
      local b, m = {}, 0
      for c = ((j - 1 - pos) % k) + 1, n, k do
        m = m + 1
        b[m] = chunk[c]
      end
      for s = 1, m, 1000 do
        redis.call('RPUSH', dsts[j], unpack(b, s, math.min(s + 999, m)))
      end
    end
    pos = e + 1
  end
end

local function wa_place(i, argc)
  -- WA_PLACE src count (stage dst n)...: the daemon dealt src into the stage lists (round_robin
  -- of a big contacts_key list, cheaper outside Lua); each moves into place, by RENAME when its
  -- dispatch list does not exist yet. A stage that is not whole (expired, say) makes the op
  -- deal from src itself, as WA_DEAL does: the outputs are right whatever happened to them.
  local src, count = ARGV[i + 2], tonumber(ARGV[i + 3])
  local stages, dsts = {}, {}
  for j = i + 4, i + argc, 3 do
    if redis.call('LLEN', ARGV[j]) ~= tonumber(ARGV[j + 2]) then stages = nil end
    if stages then stages[#stages + 1] = ARGV[j] end
    dsts[#dsts + 1] = ARGV[j + 1]
  end
  if not stages then
    for j = i + 4, i + argc, 3 do redis.call('DEL', ARGV[j]) end
    wa_deal(src, count, dsts)
    return
  end
  for j = 1, #stages do
    if redis.call('EXISTS', dsts[j]) == 0 then
      redis.call('RENAME', stages[j], dsts[j])
      redis.call('PERSIST', dsts[j])
    else
      wa_copy(stages[j], dsts[j], 0, redis.call('LLEN', stages[j]))
      redis.call('DEL', stages[j])
    end
  end
end

local function wa_run_op(i, argc)
  local op = ARGV[i + 1]
  if op == 'WA_PLACE' then
    wa_place(i, argc)
  elseif op == 'WA_COPY' then
    wa_copy(ARGV[i + 2], ARGV[i + 3], tonumber(ARGV[i + 4]), tonumber(ARGV[i + 5]))
  elseif op == 'WA_DEAL' then
    local dsts = {}
    for j = i + 4, i + argc do dsts[#dsts + 1] = ARGV[j] end
    wa_deal(ARGV[i + 2], tonumber(ARGV[i + 3]), dsts)
  else
    redis.call(unpack(ARGV, i + 1, i + argc))
  end
end

-- Runs the ops; the first error stops them (raised to the caller).
local function wa_run_ops(first, last)
  local i = first
  while i <= last do
    local argc = tonumber(ARGV[i])
    wa_run_op(i, argc)
    i = i + 1 + argc
  end
end

-- Runs every op, as MULTI/EXEC would, even after one fails; returns the first error (naming the
-- op and its key) or nil.
local function wa_run_ops_all(first, last)
  local i, failed = first, nil
  while i <= last do
    local argc = tonumber(ARGV[i])
    local ok, err = pcall(wa_run_op, i, argc)
    if not ok and not failed then
      local e = type(err) == 'table' and err.err or tostring(err)
      local what = ARGV[i + 1] .. ' ' .. (ARGV[i + 2] or '')
      if ARGV[i + 1] == 'WA_COPY' then what = 'copying ' .. ARGV[i + 2] .. ' to ' .. ARGV[i + 3] end
      if ARGV[i + 1] == 'WA_DEAL' or ARGV[i + 1] == 'WA_PLACE' then
        what = 'dealing ' .. ARGV[i + 2]
      end
      failed = what .. ': ' .. e
    end
    i = i + 1 + argc
  end
  return failed
end
)lua";

Script make(const char* name, std::string source) {
  Script s{name, std::move(source), {}};
  s.sha = sha1_hex(s.source);
  return s;
}

}  // namespace

const Script& take_script() {
  static const Script s = make("take", R"lua(
local queue, notify, reserved, delayed, deliveries = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local now, lease = tonumber(ARGV[1]), tonumber(ARGV[2])
local batch, max_deliveries = tonumber(ARGV[3]), tonumber(ARGV[4])

local due = redis.call('ZRANGEBYSCORE', delayed, '-inf', now, 'LIMIT', 0, 1000)
for i = 1, #due do
  redis.call('RPUSH', queue, due[i])
  redis.call('RPUSH', notify, 1)
end
if #due > 0 then redis.call('ZREM', delayed, unpack(due)) end

local out = {0, 0}
local expired = redis.call('ZRANGEBYSCORE', reserved, '-inf', now, 'LIMIT', 0, 1000)
for i = #expired, 1, -1 do
  local p = expired[i]
  local n = redis.call('HINCRBY', deliveries, redis.sha1hex(p), 1)
  if n >= max_deliveries then
    redis.call('ZADD', reserved, now + lease, p)
    out[#out + 1] = p
    out[#out + 1] = '1'
  else
    redis.call('ZREM', reserved, p)
    redis.call('LPUSH', queue, p)
    redis.call('RPUSH', notify, 1)
    out[2] = out[2] + 1
  end
end

local taken = redis.call('LPOP', queue, batch)
if taken then
  redis.call('LPOP', notify, #taken)
  -- A byte-identical copy of a job in hand (reserved, or earlier in this batch) is dropped.
  -- Commands take at most 1000 jobs each (Lua's unpack has a small stack).
  local seen, args, n = {}, {}, 0
  local until_ms = now + lease
  for s = 1, #taken, 1000 do
    local e = math.min(s + 999, #taken)
    local scores = redis.call('ZMSCORE', reserved, unpack(taken, s, e))
    for i = s, e do
      local p = taken[i]
      if scores[i - s + 1] or seen[p] then
        out[1] = out[1] + 1
      else
        seen[p] = true
        args[n + 1] = until_ms
        args[n + 2] = p
        n = n + 2
        out[#out + 1] = p
        out[#out + 1] = '0'
      end
    end
  end
  for s = 1, n, 2000 do
    redis.call('ZADD', reserved, unpack(args, s, math.min(s + 1999, n)))
  end
end
return out
)lua");
  return s;
}

const Script& finish_script() {
  static const Script s = make("finish", std::string(kRunOps) + R"lua(
local reserved, deliveries = KEYS[1], KEYS[2]
local ttl = ARGV[1]
local any_deliveries = redis.call('EXISTS', deliveries) == 1
local out = {}
local i, n = 2, #ARGV
while i <= n do
  local payload, marker, ckey = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local expected, nops = tonumber(ARGV[i + 3]), tonumber(ARGV[i + 4])
  local first, last = i + 5, i + 4 + nops
  local r
  if not redis.call('ZSCORE', reserved, payload) then
    r = 0
  elseif ckey ~= '' and redis.call('LLEN', ckey) ~= expected then
    r = -1
  elseif not redis.call('SET', marker, '1', 'NX', 'EX', ttl) then
    r = 2
  else
    local failed = wa_run_ops_all(first, last)
    if not failed then
      r = 1
    else
      -- A command failed (a key of the wrong type, say); the others were written (there is no
      -- rollback): deciding the job again would write them twice, so it is acknowledged and
      -- its marker kept; the daemon reports the failure.
      r = redis.error_reply(failed)
    end
  end
  if r ~= 0 and r ~= -1 then
    redis.call('ZREM', reserved, payload)
    if any_deliveries then redis.call('HDEL', deliveries, redis.sha1hex(payload)) end
  end
  out[#out + 1] = r
  i = last + 1
end
return out
)lua");
  return s;
}

const Script& release_script() {
  static const Script s = make("release", R"lua(
local n = 0
for i = #ARGV, 1, -1 do
  if redis.call('ZREM', KEYS[1], ARGV[i]) == 1 then
    redis.call('LPUSH', KEYS[2], ARGV[i])
    redis.call('RPUSH', KEYS[3], 1)
    n = n + 1
  end
end
return n
)lua");
  return s;
}

namespace {

// The statistics part of the events scripts: apply(a, i, n, stats_ttl, daily_ttl) applies the
// entries a[i..n] (nsessions, then nsessions times: stats_key nminutes (minute packed)..., then
// to the end: daily_key packed...), counting the writes that fail in `failures`.
constexpr const char* kApplyStats = R"lua(
-- A write that fails (a key of another type, say) is skipped and counted, never fatal: an
-- error half-way would leave the batch half applied and in the list, to be applied again.
local failures = 0
local function try(...)
  local r = redis.pcall(...)
  if type(r) == 'table' and r.err then
    failures = failures + 1
    return nil
  end
  return r
end

-- A minute bucket: t s d r f rs rc ds dc packed as below (codec.hpp), 44 bytes.
local fmt = '<I4I4I4I4I4dI4dI4'
local function add(cur, inc)
  if not cur or #cur ~= 44 then return inc end  -- missing (or unreadable): replaced
  local a1, a2, a3, a4, a5, a6, a7, a8, a9 = struct.unpack(fmt, cur)
  local b1, b2, b3, b4, b5, b6, b7, b8, b9 = struct.unpack(fmt, inc)
  return struct.pack(fmt, a1 + b1, a2 + b2, a3 + b3, a4 + b4, a5 + b5, a6 + b6, a7 + b7,
                     a8 + b8, a9 + b9)
end

local names = {'total', 'successful', 'delivered', 'read', 'failed', 'response_time_sum',
               'response_time_count', 'delivery_time_sum', 'delivery_time_count'}

local function apply(a, i, n, stats_ttl, daily_ttl)
  local sessions = tonumber(a[i])
  i = i + 1
  for _ = 1, sessions do
    local key, m = a[i], tonumber(a[i + 1])
    local fields, set = {}, {}
    for j = 1, m do fields[j] = a[i + 2 * j] end
    local cur = try('HMGET', key, unpack(fields))
    if cur then
      for j = 1, m do
        set[2 * j - 1] = fields[j]
        set[2 * j] = add(cur[j], a[i + 2 * j + 1])
      end
      try('HSET', key, unpack(set))
      try('EXPIRE', key, stats_ttl)
    end
    i = i + 2 + 2 * m
  end
  while i < n do
    local key = a[i]
    local v = {struct.unpack(fmt, a[i + 1])}
    for j = 1, 9 do
      if v[j] ~= 0 then
        if j == 6 or j == 8 then
          try('HINCRBYFLOAT', key, names[j], string.format('%.17g', v[j]))
        else
          try('HINCRBY', key, names[j], string.format('%d', v[j]))
        end
      end
    end
    try('EXPIRE', key, daily_ttl)
    i = i + 2
  end
end
)lua";

}  // namespace

const Script& apply_events_script() {
  static const Script s = make("apply_events", std::string(kApplyStats) + R"lua(
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return {0, 0} end
-- The parts of an earlier batch still wait: they go first (apply_staged_events).
if redis.call('EXISTS', KEYS[4]) == 1 then return {-2, 0} end
local consumed = tonumber(ARGV[2])
if redis.call('LINDEX', KEYS[1], consumed - 1) ~= ARGV[3] then return {-1, 0} end
local staged = tonumber(ARGV[7])
apply(ARGV, 8 + staged, #ARGV, ARGV[4], ARGV[5])
if staged > 0 then
  -- The rest of the batch, in parts that the next calls apply; the last one trims the batch.
  for s = 8, 7 + staged, 1000 do
    redis.call('RPUSH', KEYS[4], unpack(ARGV, s, math.min(s + 999, 7 + staged)))
  end
  return {1, failures}
end
if ARGV[6] ~= '0' then try('INCRBY', KEYS[3], ARGV[6]) end
redis.call('LTRIM', KEYS[1], consumed, -1)
return {1, failures}
)lua");
  return s;
}

const Script& apply_staged_events_script() {
  static const Script s = make("apply_staged_events", std::string(kApplyStats) + R"lua(
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return {0, 0, 0, 0} end
local part = redis.call('LPOP', KEYS[4])
if not part then return {2, 0, 0, 0} end
local a = cmsgpack.unpack(part)
apply(a, 5, #a, a[3], a[4])
local consumed, malformed = tonumber(a[1]), tonumber(a[2])
if consumed == 0 then return {1, failures, 0, 0} end
if malformed ~= 0 then try('INCRBY', KEYS[3], a[2]) end
redis.call('LTRIM', KEYS[1], consumed, -1)
return {1, failures, consumed, malformed}
)lua");
  return s;
}

const Script& read_stats_script() {
  static const Script s = make("read_stats", R"lua(
local n = redis.call('HLEN', KEYS[1])
if n > tonumber(ARGV[1]) then return n end
return redis.call('HGETALL', KEYS[1])
)lua");
  return s;
}

const Script& set_health_script() {
  static const Script s = make("set_health", R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'health_score', ARGV[1], 'health_updated_at', ARGV[2],
           'health_metrics', ARGV[3])
return 1
)lua");
  return s;
}

const Script& switch_script() {
  static const Script s = make("switch", std::string(kRunOps) + R"lua(
if redis.call('GET', KEYS[4]) ~= ARGV[1] then return 0 end
if redis.call('LLEN', KEYS[1]) ~= tonumber(ARGV[2]) then return -1 end
if redis.call('GET', KEYS[2]) ~= ARGV[3] then return -2 end
wa_run_ops(6, #ARGV)
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], ARGV[4], 'KEEPTTL')
redis.call('RPUSH', KEYS[3], ARGV[5])
return 1
)lua");
  return s;
}

const Script& renew_lock_script() {
  static const Script s = make("renew_lock", R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
)lua");
  return s;
}

}  // namespace wa::queue
