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

// The take script's declarations and its handling of oversized payloads.
constexpr const char* kTakeHead = R"lua(
local queue, notify, reserved, delayed, deliveries = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local dead, results = KEYS[6], KEYS[7]
local now, lease_until = ARGV[1], ARGV[2]  -- scores: Unix seconds (queue/score.hpp)
local batch, max_deliveries = tonumber(ARGV[3]), tonumber(ARGV[4])
local max_bytes, now_iso = tonumber(ARGV[5]), ARGV[6]

local b64chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
local function base64(data)
  local out = {}
  for i = 1, #data, 3 do
    local a, b, c = data:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local q = {math.floor(n / 262144) % 64, math.floor(n / 4096) % 64, math.floor(n / 64) % 64, n % 64}
    out[#out + 1] = b64chars:sub(q[1] + 1, q[1] + 1) .. b64chars:sub(q[2] + 1, q[2] + 1) ..
      (b and b64chars:sub(q[3] + 1, q[3] + 1) or '=') .. (c and b64chars:sub(q[4] + 1, q[4] + 1) or '=')
  end
  return table.concat(out)
end

-- An id of the head of an oversized payload, as JSON (a number or a string), or nil.
local function id_in(head, name)
  local n = string.match(head, '"' .. name .. '"%s*:%s*(%d+)[,}%s]')
  if n then return n end
  local t = string.match(head, '"' .. name .. '"%s*:%s*"([^"\\]+)"')
  if t then return cjson.encode(t) end
  return nil
end

-- A payload over max_bytes goes to dead without being parsed or kept (it would hold Redis
-- again at every step): its size and first 512 bytes say what it was.
local function oversized(p)
  local err = 'payload is ' .. #p .. ' bytes, over queue.max_payload_bytes (' .. max_bytes ..
    '): put the contacts in a Redis list and name it in contacts_key'
  local head = string.sub(p, 1, 512)
  redis.call('RPUSH', dead, '{"payload_bytes":' .. #p .. ',"payload_head_base64":"' ..
    base64(head) .. '","error":' .. cjson.encode(err) .. ',"failed_at":"' .. now_iso .. '"}')
  local campaign = id_in(head, 'campaign_id')
  if campaign then
    redis.call('RPUSH', results, '{"event":"dead","job_id":' ..
      (id_in(head, 'job_id') or 'null') .. ',"campaign_id":' .. campaign .. ',"workspace_id":' ..
      (id_in(head, 'workspace_id') or 'null') .. ',"error":' .. cjson.encode(err) ..
      ',"at":"' .. now_iso .. '"}')
  end
end

)lua";

const Script& take_script() {
  static const Script s = make("take", std::string(kTakeHead) + R"lua(
-- Scores in milliseconds, as daemons before contract v2 wrote them (1e11 s is the year 5138),
-- are rescaled to seconds, a few at a time.
for _, k in ipairs({delayed, reserved}) do
  local ms = redis.call('ZRANGEBYSCORE', k, 1e11, '+inf', 'WITHSCORES', 'LIMIT', 0, 100)
  for i = 1, #ms, 2 do redis.call('ZADD', k, ms[i + 1] / 1000, ms[i]) end
end

local due = redis.call('ZRANGEBYSCORE', delayed, '-inf', now, 'LIMIT', 0, 1000)
for i = 1, #due do
  redis.call('RPUSH', queue, due[i])
  redis.call('RPUSH', notify, 1)
end
if #due > 0 then redis.call('ZREM', delayed, unpack(due)) end

local out = {0, 0, 0}
local expired = redis.call('ZRANGEBYSCORE', reserved, '-inf', now, 'LIMIT', 0, 1000)
for i = #expired, 1, -1 do
  local p = expired[i]
  local n = redis.call('HINCRBY', deliveries, redis.sha1hex(p), 1)
  if n >= max_deliveries then
    redis.call('ZADD', reserved, lease_until, p)
    out[#out + 1] = p
    out[#out + 1] = '1'
  else
    redis.call('ZREM', reserved, p)
    redis.call('LPUSH', queue, p)
    redis.call('RPUSH', notify, 1)
    out[2] = out[2] + 1
  end
end

-- Jobs one at a time, up to batch jobs or max_bytes of payloads (at least one job).
local taken, bytes, popped = {}, 0, 0
while #taken < batch and bytes < max_bytes do
  local p = redis.call('LPOP', queue)
  if not p then break end
  popped = popped + 1
  if #p > max_bytes then
    oversized(p)
    out[3] = out[3] + 1
  else
    taken[#taken + 1] = p
    bytes = bytes + #p
  end
end
if popped > 0 then redis.call('LPOP', notify, popped) end
if #taken > 0 then
  -- A byte-identical copy of a job in hand (reserved, or earlier in this batch) is dropped.
  -- Commands take at most 1000 jobs each (Lua's unpack has a small stack).
  local seen, args, n = {}, {}, 0
  for s = 1, #taken, 1000 do
    local e = math.min(s + 999, #taken)
    local scores = redis.call('ZMSCORE', reserved, unpack(taken, s, e))
    for i = s, e do
      local p = taken[i]
      if scores[i - s + 1] or seen[p] then
        out[1] = out[1] + 1
      else
        seen[p] = true
        args[n + 1] = lease_until
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

// The finish script's declarations and its per-job steps.
constexpr const char* kFinishHead = R"lua(
local reserved, deliveries, appending = KEYS[1], KEYS[2], KEYS[3]
local ttl, now = ARGV[1], ARGV[2]
local any_deliveries = redis.call('EXISTS', deliveries) == 1

local function each_op(first, last, fn)
  local i = first
  while i <= last do
    local argc = tonumber(ARGV[i])
    local r = fn(i, argc)
    if r then return r end
    i = i + 1 + argc
  end
end

-- Whether the job can be written as decided: nil, or a code and why not.
local function check(ckey, expected, first, last)
  if ckey ~= '' then
    local len = redis.pcall('LLEN', ckey)
    if type(len) == 'table' then
      return 5, 'contacts_key ' .. ckey .. ' holds a ' .. redis.call('TYPE', ckey)['ok'] ..
        ', not a list'
    end
    if len ~= expected then
      return -1, 'contacts_key ' .. ckey .. ' has ' .. len .. ' contacts, ' .. expected ..
        ' when the job was decided'
    end
  end
  local why = each_op(first, last, function(i)
    if ARGV[i + 1] == 'WA_PLACE' and redis.call('LLEN', ARGV[i + 2]) ~= tonumber(ARGV[i + 4]) then
      return 'stage list ' .. ARGV[i + 2] .. ' is not whole'
    end
  end)
  if why then return -1, why end
  return nil
end

local function place(stage, dst)
  local t = redis.call('TYPE', dst)['ok']
  if t == 'none' then
    redis.call('RENAME', stage, dst)
    redis.call('PERSIST', dst)
  elseif t ~= 'list' then
    error({err = 'WRONGTYPE the key holds a ' .. t .. ', not a list'})
  else
    redis.call('PERSIST', stage)
    redis.call('ZADD', appending, 'NX', now, string.len(stage) .. ':' .. stage .. dst)
    -- Pending appends of dst: the pacer keeps its campaign in the backlog while it is empty.
    redis.call('INCR', appending .. ':' .. dst)
  end
end

-- Runs every op, as MULTI/EXEC would, even after one fails; returns the first error (naming
-- the op and its key) or nil.
local function run_all(first, last)
  local failed
  each_op(first, last, function(i, argc)
    local ok, err
    if ARGV[i + 1] == 'WA_PLACE' then
      ok, err = pcall(place, ARGV[i + 2], ARGV[i + 3])
    else
      ok, err = pcall(redis.call, unpack(ARGV, i + 1, i + argc))
    end
    if not ok and not failed then
      local what = ARGV[i + 1] .. ' ' .. (ARGV[i + 2] or '')
      if ARGV[i + 1] == 'WA_PLACE' then what = 'moving contacts to ' .. ARGV[i + 3] end
      failed = what .. ': ' .. (type(err) == 'table' and err.err or tostring(err))
    end
  end)
  return failed
end

local function finish_job(payload, marker, ckey, expected, first, last)
  if not redis.call('ZSCORE', reserved, payload) then return {0} end
  local code, why = check(ckey, expected, first, last)
  if code then return {code, why} end
  local r = {1}
  if not redis.call('SET', marker, '1', 'NX', 'EX', ttl) then
    r = {2}
  else
    local failed = run_all(first, last)
    if failed then r = {6, failed} end
  end
  redis.call('ZREM', reserved, payload)
  if any_deliveries then redis.call('HDEL', deliveries, redis.sha1hex(payload)) end
  return r
end

)lua";

const Script& finish_script() {
  static const Script s = make("finish", std::string(kFinishHead) + R"lua(
local out = {}
local i, n = 3, #ARGV
while i <= n do
  local nops = tonumber(ARGV[i + 4])
  local ok, r = pcall(finish_job, ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3]),
                      i + 5, i + 4 + nops)
  if not ok then r = {7, type(r) == 'table' and r.err or tostring(r)} end
  out[#out + 1] = r
  i = i + 5 + nops
end
return out
)lua");
  return s;
}

const Script& append_step_script() {
  static const Script s = make("append_step", R"lua(
local t = redis.call('TYPE', KEYS[3])['ok']
if t ~= 'list' and t ~= 'none' then
  return redis.error_reply('dispatch list ' .. KEYS[3] .. ' holds a ' .. t .. ', not a list')
end
local moved = redis.call('LPOP', KEYS[2], tonumber(ARGV[2]))
if moved then
  for s = 1, #moved, 1000 do
    redis.call('RPUSH', KEYS[3], unpack(moved, s, math.min(s + 999, #moved)))
  end
end
local left = redis.call('LLEN', KEYS[2])
if left == 0 and redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then
  local pending = KEYS[1] .. ':' .. KEYS[3]
  if redis.call('DECR', pending) <= 0 then redis.call('DEL', pending) end
end
return left
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

// The switch step's take-back of a campaign's ready items (pacing): the head of the ready list,
// split into the campaign's contacts and the other items, nothing written.
constexpr const char* kSwitchTakeBack = R"lua(
-- A ready item's campaign id as text (a JSON string, or the digits of a JSON integer, read from
-- the item's text: cjson turns big integers into doubles) and its contact, or nil (not an item).
local function ready_item(raw)
  local ok, v = pcall(cjson.decode, raw)
  if not ok or type(v) ~= 'table' or type(v.contact) ~= 'string' then return nil end
  local id = v.campaign_id
  if type(id) == 'string' and id ~= '' then return id, v.contact end
  if type(id) == 'number' then
    local text = string.match(raw, '"campaign_id"%s*:%s*(%d+)%s*[,}]')
    if text and tonumber(text) == id then return text, v.contact end
  end
  return nil
end

-- The first 1,000 items of `ready` (none when it is not a list): the contacts of `campaign` in
-- order, the other items in order, and how many items were read.
local function ready_split(ready, campaign)
  local items = redis.pcall('LRANGE', ready, 0, 999)
  if type(items) ~= 'table' or items.err then return {}, {}, 0 end
  local taken, kept = {}, {}
  for _, raw in ipairs(items) do
    local id, contact = ready_item(raw)
    if id == campaign then taken[#taken + 1] = contact else kept[#kept + 1] = raw end
  end
  return taken, kept, #items
end

local function push_head(key, items)
  if #items == 0 then return end
  local rev = {}
  for i = #items, 1, -1 do rev[#rev + 1] = items[i] end
  redis.call('LPUSH', key, unpack(rev))
end
)lua";

const Script& switch_step_script() {
  static const Script s = make("switch_step", std::string(kSwitchTakeBack) + R"lua(
local src, decision, results, lock, progress = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local ready, due = KEYS[6], KEYS[7]
local now_ms, campaign, backlog = ARGV[10], ARGV[11], ARGV[12]
if redis.call('GET', lock) ~= ARGV[1] then return {0} end
local n = tonumber(ARGV[3])
-- With pacing, the first step of a move (no progress record yet) takes the campaign's ready
-- items back to the head of the list: they are the plan's first positions.
local taken, kept, read = {}, {}, 0
if now_ms ~= '' and ARGV[6] == '' then taken, kept, read = ready_split(ready, campaign) end
local len = redis.call('LLEN', src) + #taken
if len < n then return {-1, len} end
if redis.call('GET', decision) ~= ARGV[4] then return {-2} end
if (redis.call('GET', progress) or '') ~= ARGV[6] then return {-3} end
-- Every popped contact must have exactly one place, and every destination must take a push,
-- before anything is popped: a script is not rolled back, so nothing may fail after the LPOP.
local shares, total = {}, 0
for i = 13, #ARGV, 6 do
  local first, stride, count = tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3])
  if first < 0 or stride < 1 or count < 0 or (count > 0 and first + (count - 1) * stride >= n) then
    return {-4, 'share out of range: ' .. ARGV[i]}
  end
  local t = redis.call('TYPE', ARGV[i]).ok
  if t ~= 'list' and t ~= 'none' then return {-4, ARGV[i] .. ' is a ' .. t .. ', not a list'} end
  total = total + count
  shares[#shares + 1] = {ARGV[i], first + 1, stride, count, ARGV[i + 4], ARGV[i + 5]}
end
if total ~= n then return {-4, 'shares cover ' .. total .. ' of ' .. n .. ' contacts'} end
redis.call('PEXPIRE', lock, ARGV[2])
if #taken > 0 then
  redis.call('LTRIM', ready, read, -1)
  push_head(ready, kept)
  push_head(src, taken)
end
if n > 0 then
  local chunk = redis.call('LPOP', src, n)
  for _, sh in ipairs(shares) do
    local dst, first, stride, count = sh[1], sh[2], sh[3], sh[4]
    local b, from = chunk, first
    if stride > 1 then
      b, from = {}, 1
      for k = 0, count - 1 do b[k + 1] = chunk[first + k * stride] end
    end
    local last = from + count - 1
    for s = from, last, 1000 do
      redis.call('RPUSH', dst, unpack(b, s, math.min(s + 999, last)))
    end
    -- Sticky senders: the moved contacts now belong to their new session (a hash of another
    -- type is skipped: the contacts have moved already).
    if sh[6] ~= '' and count > 0 then
      for s = from, last, 1000 do
        local kv = {}
        for m = s, math.min(s + 999, last) do
          kv[#kv + 1] = b[m]
          kv[#kv + 1] = sh[6]
        end
        redis.pcall('HSET', KEYS[8], unpack(kv))
      end
    end
    -- The destination's pacer finds the campaign in its backlog (a key of another type is
    -- skipped: the contacts have moved already).
    if now_ms ~= '' and count > 0 then
      redis.pcall('ZADD', backlog .. sh[5], 'NX', now_ms, campaign)
      redis.pcall('ZADD', due, 'NX', now_ms, sh[5])
    end
  end
end
redis.call('SET', decision, ARGV[5], 'KEEPTTL')
if ARGV[7] == '' then
  redis.call('DEL', progress)
else
  redis.call('SET', progress, ARGV[7], 'EX', ARGV[8])
end
if ARGV[9] ~= '' then redis.call('RPUSH', results, ARGV[9]) end
return {1}
)lua");
  return s;
}

const Script& backlog_lengths_script() {
  static const Script s = make("backlog_lengths", R"lua(
local function len(key)
  local n = redis.pcall('LLEN', key)
  if type(n) == 'number' then return n end
  return 0
end
local out = {len(KEYS[1])}
local campaigns = redis.pcall('ZRANGE', KEYS[2], 0, tonumber(ARGV[3]) - 1)
if type(campaigns) ~= 'table' or campaigns.err then return out end
for _, c in ipairs(campaigns) do
  if redis.pcall('SISMEMBER', KEYS[3], c) ~= 1 then
    out[#out + 1] = len(ARGV[1] .. c .. ':' .. ARGV[2])
  end
end
return out
)lua");
  return s;
}

const Script& meta_budget_sample_script() {
  static const Script s = make("meta_budget_sample", R"lua(
local used = redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[1], '+inf')
local out = {used}
if used == 0 then return out end
local first = redis.call('ZCARD', KEYS[1]) - used
local n = math.min(tonumber(ARGV[2]), used)
for i = 0, n - 1 do
  local rank = first + math.floor(i * (used - 1) / math.max(n - 1, 1))
  out[#out + 1] = redis.call('ZRANGE', KEYS[1], rank, rank, 'WITHSCORES')[2]
end
return out
)lua");
  return s;
}

const Script& prune_active_script() {
  static const Script s = make("prune_active", R"lua(
local n = math.min(redis.call('ZCOUNT', KEYS[1], '-inf', ARGV[1]), tonumber(ARGV[2]))
if n == 0 then return 0 end
return redis.call('ZREMRANGEBYRANK', KEYS[1], 0, n - 1)
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

namespace wa::queue {

namespace {

// The release script's helpers: the ready item, the walk's bookkeeping, the final writes.
constexpr const char* kPaceHead = R"lua(
local pace, ready, backlog, due, paused, counts = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local target, now, n, room = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local cap, iso = tonumber(ARGV[7]), cjson.encode(ARGV[10])
local list_of = function(c) return ARGV[11] .. c .. ':' .. ARGV[13] end
local st = redis.call('HMGET', pace, 'day', 'released_today', 'last_campaign', 'factor', 'next_at')
local today, last = 0, st[3] or ''
if st[1] == ARGV[6] then today = tonumber(st[2]) or 0 end

-- A campaign id that reads as an integer in 1 … 2^63−1 (digits, no leading zero) is a JSON
-- number, else a string.
local function item(c, contact)
  local id = c
  if not (c:match('^[1-9]%d*$') and (#c < 19 or (#c == 19 and c <= '9223372036854775807'))) then
    id = cjson.encode(c)
  end
  return '{"campaign_id":' .. id .. ',"contact":' .. cjson.encode(contact) ..
         ',"released_at":' .. iso .. '}'
end

-- A campaign removed from the backlog leaves its predecessor (in backlog order, '' for the
-- first) as the place the next turn starts after.
local pred = {}
local left = -1  -- the backlog's size, once known
local function drop(c)
  local r = redis.call('ZRANK', backlog, c)
  if not r then return end
  pred[c] = (r > 0 and redis.call('ZRANGE', backlog, r - 1, r - 1)[1]) or ''
  redis.call('ZREM', backlog, c)
  left = left - 1
end
local function resolve(c)
  while pred[c] do c = pred[c] end
  return c
end

local function count(released)
  local minute = math.floor(now / 60000)
  local c = redis.pcall('HINCRBY', counts, minute, released)
  if type(c) ~= 'number' or c ~= released then return end  -- a minute seen before: kept already
  redis.pcall('EXPIRE', counts, ARGV[12])
  local h = redis.call('HLEN', counts)
  if h <= 180 then return end
  if h > 1000 then redis.call('DEL', counts) return end
  for _, f in ipairs(redis.call('HKEYS', counts)) do
    local m = tonumber(f)
    if not m or m < minute - 120 then redis.call('HDEL', counts, f) end
  end
end

-- The factor belongs to the health cycle (adaptive pace): written here only when missing.
-- Meta's budget (section 9), KEYS[8] with ARGV[17] tier_limit and ARGV[18] window (ms); `used`
-- counts its live entries, budget_at is when the oldest ages out (reason 'budget').
local budget, tier, cutoff, used, budget_at = KEYS[8], tonumber(ARGV[17]), 0, 0, 0
-- A paused key of another type pauses nothing; the reply's fourth element says so.
local paused_bad = 0
local function finish(released, reason)
  local next_at = ARGV[5]
  if reason == 'cap' then next_at = ARGV[14] end
  if reason == 'budget' then next_at = tostring(math.max(tonumber(next_at), budget_at)) end
  local f = {'rate_per_hour', ARGV[8], 'day', ARGV[6],
             'released_today', today, 'next_at', next_at, 'last_campaign', last}
  if not st[4] then f[#f + 1], f[#f + 2] = 'factor', ARGV[9] end
  if budget then
    f[#f + 1], f[#f + 2], f[#f + 3], f[#f + 4] = 'budget_used', used, 'tier_limit', tier
  end
  if cap >= 0 then
    f[#f + 1], f[#f + 2] = 'cap_today', ARGV[7]
  else
    redis.call('HDEL', pace, 'cap_today')
  end
  redis.call('HSET', pace, unpack(f))
  if left == 0 then
    redis.pcall('ZREM', due, target)
  else
    redis.pcall('ZADD', due, next_at, target)
  end
  if released > 0 then count(released) end
  return {released, reason, today, paused_bad}
end
)lua";

// Nothing without the pacer's lock; a target whose gap is not over (the backlog came back to a
// target released from a moment ago) is only put back in `due` at its time.
constexpr const char* kPaceGate = R"lua(
if ARGV[15] ~= '' and redis.call('GET', KEYS[7]) ~= ARGV[15] then
  return {0, 'lock_lost', today}
end
local due_at = tonumber(st[5])
if due_at and now < due_at then
  redis.call('ZADD', due, due_at, target)
  return {0, 'early', today}
end
)lua";

// Meta's budget: pruning, the live count and the gate on each contact taken.
constexpr const char* kPaceBudget = R"lua(
-- Entries of the budget that aged out go, at most 200 a release (about 1 ms).
if budget then
  cutoff = now - tonumber(ARGV[18])
  local old = redis.call('ZCOUNT', budget, '-inf', cutoff)
  if old > 0 then redis.call('ZREMRANGEBYRANK', budget, 0, math.min(old, 200) - 1) end
  used = redis.call('ZCOUNT', budget, '(' .. cutoff, '+inf')
end
-- The head of a list (false when there is none), and true when the budget keeps it there:
-- a recipient reached within the window always fits, a new one while fewer than tier_limit
-- are live.
local function take(list)
  if not budget then return redis.pcall('LPOP', list) end
  local contact = redis.pcall('LINDEX', list, 0)
  if type(contact) ~= 'string' then return contact end
  local seen = tonumber(redis.call('ZSCORE', budget, contact))
  local known = seen and seen > cutoff
  if not known and used >= tier then
    local oldest = redis.call('ZRANGEBYSCORE', budget, '(' .. cutoff, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
    budget_at = (tonumber(oldest[2]) or now) + tonumber(ARGV[18])
    return false, true
  end
  redis.call('LPOP', list)
  redis.call('ZADD', budget, now, contact)
  if not known then used = used + 1 end
  return contact
end
)lua";

}  // namespace

const Script& pace_release_script() {
  static const Script s =
      make("pace_release", std::string(kPaceHead) + kPaceGate + kPaceBudget + R"lua(
local total = redis.call('ZCARD', backlog)
left = total
if total == 0 then return finish(0, 'empty') end
if cap >= 0 and today >= cap then return finish(0, 'cap') end
local len = redis.call('LLEN', ready)
if len >= room then return finish(0, 'backpressure') end
n = math.min(n, room - len, 1000)
if budget then n = math.min(n, 250) end  -- a budget check costs about a release
if cap >= 0 then n = math.min(n, cap - today) end

-- The turn starts after last_campaign and wraps: at most `window` campaigns are looked at.
local window = 100
local start = 0
if last ~= '' then start = (redis.call('ZRANK', backlog, last) or -1) + 1 end
if start >= total then start = 0 end
local w = redis.call('ZRANGE', backlog, start, start + window - 1)
if #w < window and start > 0 then
  for _, c in ipairs(redis.call('ZRANGE', backlog, 0, math.min(start, window - #w) - 1)) do
    w[#w + 1] = c
  end
end
-- Paused campaigns are skipped; with n releases to make, only the first n that are not paused
-- are needed (one SISMEMBER each, none when nothing is paused).
local n_paused = redis.pcall('SCARD', paused)
if type(n_paused) ~= 'number' then n_paused, paused_bad = 0, 1 end
local any_paused = n_paused > 0
local active, saw_paused, p = {}, false, 1
local function fill()
  while #active < n and p <= #w do
    local c = w[p]
    p = p + 1
    if any_paused and redis.call('SISMEMBER', paused, c) == 1 then
      saw_paused = true
    else
      active[#active + 1] = c
    end
  end
end
fill()

-- One contact per campaign per turn. A dispatch list that is empty (or not a list) leaves the
-- backlog, unless contacts are still being appended to it (queue/appends): then it waits.
local released, i, full = 0, 1, false
while released < n and #active > 0 do
  if i > #active then i = 1 end
  local c = active[i]
  local list = list_of(c)
  local contact, blocked = take(list)
  if blocked then
    full = true
    break
  end
  if type(contact) == 'string' then
    redis.call('RPUSH', ready, item(c, contact))
    released, today, last = released + 1, today + 1, c
  end
  if type(contact) ~= 'string' or redis.call('LLEN', list) == 0 then
    if redis.call('EXISTS', ARGV[16] .. list) == 0 then drop(c) end
    table.remove(active, i)
    fill()
  else
    i = i + 1
  end
end
last = resolve(last)
if full then return finish(released, 'budget') end
if released > 0 then return finish(released, '') end
if left == 0 then return finish(0, 'empty') end
return finish(0, saw_paused and 'paused' or 'stale')
)lua");
  return s;
}

}  // namespace wa::queue
