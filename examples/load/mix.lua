-- wrk script: the request mix of the kvserver load test (examples/kv).
--
--   wrk -t1 -c32 -d8s --timeout 2s -s examples/load/mix.lua \
--       http://127.0.0.1:8080 -- [keys=N]
--
-- Keys are "k<N>", N uniform in [0, KEYS). KEYS comes from the script
-- argument ("keys=N" or just "N"), else the environment variable KV_KEYS,
-- else 200000 (twice the server's default capacity, so that a part of the
-- GETs miss and the PUTs keep evicting).
--
-- Mix per request:  74% GET /kv/<key>          1% GET /kv/<key>?critical
--                   20% PUT /kv/<key> <json>    5% DELETE /kv/<key>
-- PUT bodies are drawn from a pool of BODIES JSON documents (200..400 bytes,
-- nested objects/arrays/strings/numbers/bools/null) generated in init().
-- The request texts are built with wrk.format once, in init(), around a
-- placeholder key, so request() is a random draw and one concatenation.
-- There is deliberately no response() callback: with one, wrk parses every
-- response's headers and body, which costs it a large part of its rate.
--
-- done() prints one line, "WRKJSON {...}", for examples/load/run.py:
--   requests, duration_s, req_per_s, bytes, keys,
--   errors {connect, read, write, status, timeout}
--     status is wrk's count of responses with a status > 399, which here
--     includes every 404 (GET or DELETE of an absent key): it is reported
--     as wrk counts it, "status_includes_404" says so; the server's /stats
--     separates the 404s from real errors.
--   latency_us {p50, p99, p999, max, mean}
--   sent {get, critical, put, delete}  requests generated per kind (the
--     requests in flight when wrk stops are included).

local DEFAULT_KEYS = 200000
local BODIES = 64
local PLACEHOLDER = "\1KEY\1"

-- Per-thread state (each wrk thread runs this file in its own Lua state).
keys = DEFAULT_KEYS           -- global: done() reads it with thread:get
local get_pre, get_post, crit_pre, crit_post, del_pre, del_post
local put_pre, put_post = {}, {}
local nbodies = 0
sent_get, sent_critical, sent_put, sent_delete = 0, 0, 0, 0

-- setup() and done() run in one separate Lua state: number the threads there.
local threads = {}

function setup(thread)
   thread:set("thread_id", #threads + 1)
   table.insert(threads, thread)
end

---------------------------------------------------------------------------
-- JSON document generator (only used in init()).

local WORDS = { "alpha", "bravo", "cedar", "delta", "ember", "fjord",
   "gamma", "harbor", "indigo", "juniper", "kelvin", "lumen", "maple",
   "nectar", "onyx", "prism", "quartz", "raven", "sierra", "tundra",
   "umber", "vortex", "willow", "xenon", "yarrow", "zephyr" }

-- Strings with escapes, so the server's JSON parser and printer see them.
local ODD_STRINGS = { [["line\nbreak"]], [["tab\there"]],
   [["say \"hi\""]], [["back\\slash"]], [["caf\u00e9 \u2603"]],
   [["slash\/ok"]], [[""]] }

local function word() return WORDS[math.random(#WORDS)] end

local function str()
   if math.random(8) == 1 then return ODD_STRINGS[math.random(#ODD_STRINGS)] end
   return '"' .. word() .. "-" .. word() .. '"'
end

local function number()
   local r = math.random(5)
   if r == 1 then return tostring(math.random(0, 1000000)) end
   if r == 2 then return tostring(-math.random(1, 5000)) end
   if r == 3 then return string.format("%.3f", math.random() * 1000) end
   if r == 4 then return string.format("%de%d", math.random(1, 9), math.random(-5, 12)) end
   return "0"
end

local function bool()
   local r = math.random(3)
   return r == 1 and "true" or r == 2 and "false" or "null"
end

local function array(n, elem)
   local t = {}
   for i = 1, n do t[i] = elem() end
   return "[" .. table.concat(t, ",") .. "]"
end

local function event()
   return '{"t":' .. math.random(1600000000, 1700000000) .. ',"kind":' .. str() ..
      ',"ok":' .. bool() .. ',"vals":' .. array(math.random(0, 4), number) .. "}"
end

local function document(id)
   local fields = {
      '"id":' .. id,
      '"name":' .. str(),
      '"active":' .. bool(),
      '"tags":' .. array(math.random(0, 4), str),
   }
   if math.random(2) == 1 then
      fields[#fields + 1] = '"score":' .. number()
   end
   if math.random(2) == 1 then
      fields[#fields + 1] = '"dims":' .. array(math.random(1, 3), function()
         return array(math.random(0, 3), number) end)
   end
   if math.random(2) == 1 then
      fields[#fields + 1] = '"owner":{"name":' .. str() .. ',"roles":' ..
         array(math.random(0, 3), str) .. ',"verified":' .. bool() ..
         ',"limits":{"max":' .. number() .. ',"nested":[[[' .. number() .. "]]]}}"
   end
   -- Events are appended until the document reaches a random size.
   local target = math.random(200, 380)
   local history = {}
   local doc
   repeat
      history[#history + 1] = event()
      doc = "{" .. table.concat(fields, ",") .. ',"history":[' ..
         table.concat(history, ",") .. "]}"
   until #doc >= target
   return doc
end

-- A document of 200..400 bytes.
local function sized_document(id)
   while true do
      local doc = document(id)
      if #doc <= 400 then return doc end
   end
end

---------------------------------------------------------------------------
-- Request templates: wrk.format around the placeholder key, split in two.

local function template(method, path, body)
   local text = wrk.format(method, path, nil, body)
   local at = text:find(PLACEHOLDER, 1, true)
   return text:sub(1, at - 1), text:sub(at + #PLACEHOLDER)
end

local function parse_keys(args)
   local v
   for _, a in ipairs(args or {}) do
      v = a:match("^keys=(%d+)$") or a:match("^(%d+)$") or v
   end
   v = v or os.getenv("KV_KEYS")
   local n = tonumber(v or DEFAULT_KEYS)
   if not n or n < 1 then
      io.stderr:write("mix.lua: bad key count: " .. tostring(v) .. "\n")
      os.exit(2)
   end
   return math.floor(n)
end

function init(args)
   keys = parse_keys(args)
   math.randomseed(7919 * (thread_id or 1))
   get_pre, get_post = template("GET", "/kv/" .. PLACEHOLDER)
   crit_pre, crit_post = template("GET", "/kv/" .. PLACEHOLDER .. "?critical")
   del_pre, del_post = template("DELETE", "/kv/" .. PLACEHOLDER)
   for i = 1, BODIES do
      put_pre[i], put_post[i] = template("PUT", "/kv/" .. PLACEHOLDER,
                                         sized_document(i))
   end
   nbodies = BODIES
end

---------------------------------------------------------------------------

local random = math.random

function request()
   local key = "k" .. random(0, keys - 1)
   local r = random(100)
   if r <= 74 then
      sent_get = sent_get + 1
      return get_pre .. key .. get_post
   elseif r == 75 then
      sent_critical = sent_critical + 1
      return crit_pre .. key .. crit_post
   elseif r <= 95 then
      sent_put = sent_put + 1
      local i = random(nbodies)
      return put_pre[i] .. key .. put_post[i]
   else
      sent_delete = sent_delete + 1
      return del_pre .. key .. del_post
   end
end

---------------------------------------------------------------------------

-- A JSON number, or null for NaN/infinity.
local function num(x, fmt)
   if x == nil or x ~= x or x == math.huge or x == -math.huge then return "null" end
   return string.format(fmt or "%d", x)
end

function done(summary, latency, requests)
   local sent = { get = 0, critical = 0, put = 0, delete = 0 }
   local nkeys = 0
   for _, t in ipairs(threads) do
      sent.get = sent.get + (t:get("sent_get") or 0)
      sent.critical = sent.critical + (t:get("sent_critical") or 0)
      sent.put = sent.put + (t:get("sent_put") or 0)
      sent.delete = sent.delete + (t:get("sent_delete") or 0)
      nkeys = t:get("keys") or nkeys
   end
   local e = summary.errors
   local secs = summary.duration / 1e6
   local out = {
      '"requests":' .. num(summary.requests),
      '"duration_s":' .. num(secs, "%.3f"),
      '"req_per_s":' .. num(secs > 0 and summary.requests / secs or 0, "%.1f"),
      '"bytes":' .. num(summary.bytes),
      '"keys":' .. num(nkeys),
      '"errors":{"connect":' .. num(e.connect) .. ',"read":' .. num(e.read) ..
         ',"write":' .. num(e.write) .. ',"status":' .. num(e.status) ..
         ',"timeout":' .. num(e.timeout) .. "}",
      '"status_includes_404":true',
      '"latency_us":{"p50":' .. num(latency:percentile(50)) ..
         ',"p99":' .. num(latency:percentile(99)) ..
         ',"p999":' .. num(latency:percentile(99.9)) ..
         ',"max":' .. num(latency.max) ..
         ',"mean":' .. num(latency.mean, "%.1f") .. "}",
      '"sent":{"get":' .. num(sent.get) .. ',"critical":' .. num(sent.critical) ..
         ',"put":' .. num(sent.put) .. ',"delete":' .. num(sent.delete) .. "}",
   }
   io.write("WRKJSON {" .. table.concat(out, ",") .. "}\n")
   io.flush()
end
