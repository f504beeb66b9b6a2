"""The queue's Lua scripts. Every state change of the queue happens in one of them, atomically.

Keys (one Cluster hash tag, so that a script may touch them all)::

    KEYS[1] stream   the ready and in-flight ids: entries {j = job id, n = earlier deliveries}
    KEYS[2] delayed  sorted set: job id -> due time (ms, server clock)
    KEYS[3] ids      hash: job id -> its current copy, a stream entry id or "d" (delayed)
    KEYS[4] carry    hash: job id -> earlier deliveries of a delayed copy (after a nack)
    KEYS[5] leases   sorted set: entry id -> visibility deadline set by extend (ms)
    KEYS[6] dead     the dead-letter stream: {j, deliveries, reason}
    KEYS[7] meta     hash: the reclaim cursor and when to scan and collect next

A delivery is an entry in the consumer group's pending list; its receipt is the entry id and
the pending list's delivery count at the time, so a receipt stops being current as soon as the
entry is acked, deleted or delivered again. An acked or given-back entry is deleted from the
stream, so the stream holds only ready and in-flight entries.
"""

from __future__ import annotations

__all__ = ["ACK", "ENQUEUE", "EXTEND", "HANDBACK", "NACK", "RECEIVE"]

_PRELUDE = """
local S, D, H, C, L, X, M = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local group = ARGV[1]

local function now_ms()
    local t = redis.call('TIME')
    return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- The group is created on first use and again after the keys were lost (FLUSHALL, failover
-- to a replica that had not seen it): every script starts here.
redis.pcall('XGROUP', 'CREATE', S, group, '0', 'MKSTREAM')

-- job id and earlier deliveries of a stream entry, or nil when it is gone.
local function entry(id)
    local e = redis.call('XRANGE', S, id, id)
    if #e == 0 then return nil, nil end
    local f, job, n = e[1][2], nil, 0
    for i = 1, #f, 2 do
        if f[i] == 'j' then job = f[i + 1] elseif f[i] == 'n' then n = tonumber(f[i + 1]) end
    end
    return job, n
end

-- The delivery count of a pending entry, or nil when it is not pending.
local function delivered(id)
    local p = redis.call('XPENDING', S, group, id, id, 1)
    if #p == 0 then return nil end
    return tonumber(p[1][4])
end

local function add(job, n)
    local id = redis.call('XADD', S, '*', 'j', job, 'n', n)
    redis.call('HSET', H, job, id)
    return id
end

local function delay_copy(job, due, n)
    redis.call('ZADD', D, due, job)
    redis.call('HSET', H, job, 'd')
    if n > 0 then redis.call('HSET', C, job, n) else redis.call('HDEL', C, job) end
end

local function forget(id, job)
    redis.call('XACK', S, group, id)
    redis.call('XDEL', S, id)
    redis.call('ZREM', L, id)
    if job and redis.call('HGET', H, job) == id then redis.call('HDEL', H, job) end
end

local function bury(id, job, deliveries, reason, maxlen)
    forget(id, job)
    redis.call('XADD', X, 'MAXLEN', '~', maxlen, '*',
               'j', job or '', 'deliveries', deliveries, 'reason', reason, 'entry', id)
end

-- Give an in-flight entry back (nack, shutdown): a new entry (now or delayed) that carries the
-- deliveries so far, unless another copy of the job already waits, or the job has had
-- ``max`` deliveries (dead-lettered). Returns 1 given back, 2 dead-lettered, 3 merged.
local function give_back(id, count, delay, max, maxlen, now)
    local job, n = entry(id)
    if not job then
        forget(id, nil)
        return 1
    end
    local deliveries = n + count
    forget(id, job)
    local cur = redis.call('HGET', H, job)
    if cur and cur ~= id then
        local other_alive
        if cur == 'd' then
            local due = redis.call('ZSCORE', D, job)
            other_alive = due ~= false
            if other_alive and now + delay < tonumber(due) then
                redis.call('ZADD', D, now + delay, job)
            end
        else
            other_alive = #redis.call('XRANGE', S, cur, cur) > 0
        end
        if other_alive then return 3 end
    end
    if deliveries >= max then
        bury(id, job, deliveries, 'max deliveries', maxlen)
        return 2
    end
    if delay > 0 then delay_copy(job, now + delay, deliveries) else add(job, deliveries) end
    return 1
end
"""

#: ARGV: group, then a job id and its delay (ms) for each job. Returns how many copies were
#: added or moved earlier. Jobs are taken in order: the same id twice keeps one copy.
ENQUEUE = (
    _PRELUDE
    + """
local function enqueue(job, delay, now)
    local cur = redis.call('HGET', H, job)
    if cur == 'd' then
        local due = redis.call('ZSCORE', D, job)
        if due then
            if delay <= 0 then
                redis.call('ZREM', D, job)
                local n = tonumber(redis.call('HGET', C, job) or '0')
                redis.call('HDEL', C, job)
                add(job, n)
                return 1
            end
            if now + delay < tonumber(due) then
                redis.call('ZADD', D, now + delay, job)
                return 1
            end
            return 0
        end
    elseif cur then
        -- A copy that is still in the stream but not delivered yet is due now: keep it alone.
        -- A copy in flight gets a successor, so that an enqueue while the job runs (its retry)
        -- is delivered after it.
        if #redis.call('XRANGE', S, cur, cur) > 0 and not delivered(cur) then return 0 end
    end
    if delay > 0 then delay_copy(job, now + delay, 0) else add(job, 0) end
    return 1
end

local now, changed = now_ms(), 0
for i = 2, #ARGV, 2 do
    changed = changed + enqueue(ARGV[i], tonumber(ARGV[i + 1]), now)
end
return changed
"""
)

#: ARGV: group, consumer, visibility timeout (ms), max deliveries, scan interval (ms),
#: dead-letter stream length, how many deliveries at most. Returns {buried, ms until the next
#: delayed id is due (-1: none), then entry id, job id, attempt, delivery count per delivery}.
RECEIVE = (
    _PRELUDE
    + """
local consumer, vt, max = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local every, maxlen, want = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local now = now_ms()
local buried, out, got = 0, {0, -1}, 0

-- 1. Delayed ids that are due join the stream.
local due = redis.call('ZRANGEBYSCORE', D, '-inf', now, 'LIMIT', 0, 100)
for _, job in ipairs(due) do
    redis.call('ZREM', D, job)
    local n = tonumber(redis.call('HGET', C, job) or '0')
    redis.call('HDEL', C, job)
    add(job, n)
end

-- 2. A delivery not acked within the visibility timeout (nor extended) is taken over. The
-- pending list is scanned from a cursor, 50 at a time, and at most once per scan interval
-- once a full pass found nothing.
if now >= tonumber(redis.call('HGET', M, 'scan_at') or '0') then
    local cursor = redis.call('HGET', M, 'cursor') or '-'
    local pend = redis.call('XPENDING', S, group, 'IDLE', vt, cursor, '+', 50)
    local last = nil
    for _, p in ipairs(pend) do
        if got >= want then break end
        local id, count = p[1], tonumber(p[4])
        last = id
        local lease = tonumber(redis.call('ZSCORE', L, id) or '0')
        if lease <= now then
            local job, n = entry(id)
            if not job then
                forget(id, nil)
            elseif n + count >= max then
                bury(id, job, n + count, 'max deliveries', maxlen)
                buried = buried + 1
            else
                redis.call('XCLAIM', S, group, consumer, 0, id)
                redis.call('ZREM', L, id)
                got = got + 1
                for _, v in ipairs({id, job, n + count + 1, count + 1}) do out[#out + 1] = v end
            end
        end
    end
    if got >= want then
        redis.call('HSET', M, 'cursor', '(' .. last)
    elseif #pend < 50 then
        redis.call('HSET', M, 'cursor', '-', 'scan_at', now + every)
    else
        redis.call('HSET', M, 'cursor', '(' .. pend[#pend][1])
    end
end

-- 3. Now and then, forget consumers (processes) gone for an hour that hold nothing.
if now >= tonumber(redis.call('HGET', M, 'gc_at') or '0') then
    redis.call('HSET', M, 'gc_at', now + 600000)
    for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', S, group)) do
        local info = {}
        for i = 1, #c, 2 do info[c[i]] = c[i + 1] end
        if info['name'] ~= consumer and tonumber(info['pending']) == 0
                and tonumber(info['idle']) > 3600000 then
            redis.call('XGROUP', 'DELCONSUMER', S, group, info['name'])
        end
    end
end

-- 4. New entries.
if got < want then
    local r = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', want - got,
                         'STREAMS', S, '>')
    if r and r[1] then
        for _, e in ipairs(r[1][2]) do
            local job, n = '', 0
            for i = 1, #e[2], 2 do
                if e[2][i] == 'j' then job = e[2][i + 1]
                elseif e[2][i] == 'n' then n = tonumber(e[2][i + 1]) end
            end
            got = got + 1
            for _, v in ipairs({e[1], job, n + 1, 1}) do out[#out + 1] = v end
        end
    end
end

out[1] = buried
if got == 0 then
    local head = redis.call('ZRANGE', D, 0, 0, 'WITHSCORES')
    if #head > 0 then out[2] = math.max(0, tonumber(head[2]) - now) end
end
return out
"""
)

#: ARGV: group, then an entry id and delivery count for each receipt. Returns how many were
#: acked; stale receipts are skipped.
ACK = (
    _PRELUDE
    + """
local acked = 0
for i = 2, #ARGV, 2 do
    local id = ARGV[i]
    if delivered(id) == tonumber(ARGV[i + 1]) then
        forget(id, (entry(id)))
        acked = acked + 1
    end
end
return acked
"""
)

#: ARGV: group, entry id, delivery count, delay (ms), max deliveries, dead-letter length.
#: Returns 0 for a stale receipt, else what ``give_back`` returns.
NACK = (
    _PRELUDE
    + """
local id, count = ARGV[2], tonumber(ARGV[3])
if delivered(id) ~= count then return 0 end
return give_back(id, count, tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), now_ms())
"""
)

#: ARGV: group, entry id, delivery count, seconds (ms). Returns 1 if extended, 0 if stale.
EXTEND = (
    _PRELUDE
    + """
local id, count = ARGV[2], tonumber(ARGV[3])
if delivered(id) ~= count then return 0 end
redis.call('ZADD', L, 'GT', now_ms() + tonumber(ARGV[4]), id)
return 1
"""
)

#: ARGV: group, consumer, max deliveries, dead-letter length. Gives back every delivery the
#: consumer still holds (it is shutting down). Returns {given back, dead-lettered}.
HANDBACK = (
    _PRELUDE
    + """
local consumer, max, maxlen = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local now, back, buried = now_ms(), 0, 0
for _, p in ipairs(redis.call('XPENDING', S, group, '-', '+', 1000, consumer)) do
    local outcome = give_back(p[1], tonumber(p[4]), 0, max, maxlen, now)
    if outcome == 2 then buried = buried + 1 else back = back + 1 end
end
return {back, buried}
"""
)
