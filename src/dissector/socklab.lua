-- socklab.lua: Wireshark/tshark dissector for the socket course protocols,
-- printed by `socklab dissector`. It shows the fields socklab shows:
--   udp-calc  (udpcalc.a, .b, .op, .result, .order): 12-byte request
--             struct.pack("III", a, b, op) read in the byte order that makes
--             op 0 or 1 (native first), 4-byte reply read in native order
--             (native = little-endian, as on x86 and ARM machines)
--   tcp-calc  (tcpcalc.number, .reply, .partial): NUL-terminated decimal
--             numbers; a reply ends with two NULs
--   monitor   (monitor.host, .cpu, .mem): 67-byte "Hostname:" records
--   echo      (echo.text, .reply)
-- Registered on the course ports (udp-calc and tcp-calc 10009, echo 10000,
-- monitor 5000) and as heuristics on any port.
-- Use: wireshark -X lua_script:socklab.lua
--      tshark -X lua_script:socklab.lua -r FILE -T fields -e udpcalc.a

local CALC_PORT, ECHO_PORT, MONITOR_PORT = 10009, 10000, 5000
local server_ports = { udp = {}, tcp = {} } -- port -> protocol name

---------------------------------------------------------------- udp-calc
local udpcalc = Proto("udpcalc", "Socket course UDP calculator")
local uc_a = ProtoField.uint32("udpcalc.a", "a", base.DEC)
local uc_b = ProtoField.uint32("udpcalc.b", "b", base.DEC)
local uc_op = ProtoField.uint32("udpcalc.op", "op", base.DEC, { [0] = "add", [1] = "subtract" })
local uc_result = ProtoField.uint32("udpcalc.result", "result", base.DEC)
local uc_order = ProtoField.string("udpcalc.order", "byte order")
udpcalc.fields = { uc_a, uc_b, uc_op, uc_result, uc_order }

-- Network order read: the "!III" variant, chosen by `--decode PORT=udp-calc-net`.
local network_order_ports = {}

local function udpcalc_dissect(tvb, pinfo, tree, want_big)
    local len = tvb:len()
    if len == 12 then
        local le_op, be_op = tvb(8, 4):le_uint(), tvb(8, 4):uint()
        local big = (le_op > 1 and be_op <= 1)
        if want_big and be_op <= 1 then big = true end
        local t = tree:add(udpcalc, tvb(), "udp-calc request")
        local add = big and t.add or t.add_le
        add(t, uc_a, tvb(0, 4))
        add(t, uc_b, tvb(4, 4))
        add(t, uc_op, tvb(8, 4))
        t:add(uc_order, big and "big-endian" or "little-endian")
        pinfo.cols.protocol = "udp-calc"
        return 12
    elseif len == 4 then
        local t = tree:add(udpcalc, tvb(), "udp-calc reply")
        if want_big then
            t:add(uc_result, tvb(0, 4))
            t:add(uc_order, "big-endian")
        else
            t:add_le(uc_result, tvb(0, 4))
            t:add(uc_order, "little-endian")
        end
        pinfo.cols.protocol = "udp-calc"
        return 4
    end
    return 0
end

function udpcalc.dissector(tvb, pinfo, tree)
    local big = network_order_ports[pinfo.src_port] or network_order_ports[pinfo.dst_port]
    return udpcalc_dissect(tvb, pinfo, tree, big)
end

-- Heuristic: a 12-byte request whose op is 0 or 1 in one of the orders;
-- a 4-byte datagram only as the answer to such a request (same ports, reversed).
local asked = {}
local function udpcalc_heuristic(tvb, pinfo, tree)
    local len = tvb:len()
    local key = tostring(pinfo.src) .. ":" .. pinfo.src_port .. ">" .. tostring(pinfo.dst) .. ":" .. pinfo.dst_port
    local back = tostring(pinfo.dst) .. ":" .. pinfo.dst_port .. ">" .. tostring(pinfo.src) .. ":" .. pinfo.src_port
    if len == 12 then
        local le_op, be_op = tvb(8, 4):le_uint(), tvb(8, 4):uint()
        if le_op > 1 and be_op > 1 then return false end
        asked[key] = true
    elseif len == 4 then
        if not asked[back] then return false end
    else
        return false
    end
    udpcalc_dissect(tvb, pinfo, tree, false)
    return true
end

---------------------------------------------------------------- tcp-calc
local tcpcalc = Proto("tcpcalc", "Socket course TCP calculator")
local tc_number = ProtoField.string("tcpcalc.number", "number")
local tc_reply = ProtoField.bool("tcpcalc.reply", "reply")
local tc_partial = ProtoField.string("tcpcalc.partial", "partial number (its NUL comes later)")
tcpcalc.fields = { tc_number, tc_reply, tc_partial }

-- Numbers: "-?digits\0" repeated, maybe a partial number at the end; a
-- reply ends with an extra NUL. Returns nil when it is not that shape.
local function tcpcalc_parse(s)
    local numbers, pos = {}, 1
    while pos <= #s do
        local num, nul = s:match("^(%-?%d+)(%z)", pos)
        if num then
            numbers[#numbers + 1] = { pos - 1, #num, num }
            pos = pos + #num + 1
        elseif s:sub(pos, pos) == "\0" and #numbers > 0 then
            pos = pos + 1 -- the reply's second NUL
        else
            local rest = s:sub(pos)
            if rest:match("^%-?%d+$") then
                return numbers, { pos - 1, #rest, rest }
            end
            return nil
        end
    end
    return numbers, nil
end

local function tcpcalc_dissect(tvb, pinfo, tree, reply)
    local s = tvb:raw()
    local numbers, partial = tcpcalc_parse(s)
    if numbers == nil or (#numbers == 0 and partial == nil) then return 0 end
    local t = tree:add(tcpcalc, tvb(), reply and "tcp-calc reply" or "tcp-calc numbers")
    for _, n in ipairs(numbers) do
        t:add(tc_number, tvb(n[1], n[2]), n[3])
    end
    if partial then t:add(tc_partial, tvb(partial[1], partial[2]), partial[3]) end
    t:add(tc_reply, reply)
    pinfo.cols.protocol = "tcp-calc"
    return tvb:len()
end

function tcpcalc.dissector(tvb, pinfo, tree)
    local reply = server_ports.tcp[pinfo.src_port] == "tcp-calc" or pinfo.src_port == CALC_PORT
    return tcpcalc_dissect(tvb, pinfo, tree, reply)
end

local function tcpcalc_heuristic(tvb, pinfo, tree)
    local s = tvb:raw()
    -- Whole numbers only: a partial number alone is too weak a sign.
    if not s:match("^%-?%d+%z") then return false end
    local numbers, partial = tcpcalc_parse(s)
    if numbers == nil or partial ~= nil then return false end
    local reply = s:sub(-2) == "\0\0"
    tcpcalc_dissect(tvb, pinfo, tree, reply)
    return true
end

---------------------------------------------------------------- monitor
local monitor = Proto("coursemonitor", "Socket course system monitor")
local mo_host = ProtoField.string("monitor.host", "host")
local mo_cpu = ProtoField.string("monitor.cpu", "cpu load %")
local mo_mem = ProtoField.string("monitor.mem", "memory available %")
monitor.fields = { mo_host, mo_cpu, mo_mem }

local function monitor_dissect(tvb, pinfo, tree)
    if tvb:len() ~= 67 then return 0 end
    local s = tvb:raw()
    local host, cpu, mem = s:match("^Hostname:(.-) Carga de CPU: ([%d%.]+)%% Memória Disponível: ([%d%.]+)%% *$")
    if not host then return 0 end
    local t = tree:add(monitor, tvb(), "monitor record")
    t:add(mo_host, host)
    t:add(mo_cpu, cpu)
    t:add(mo_mem, mem)
    pinfo.cols.protocol = "monitor"
    return 67
end

function monitor.dissector(tvb, pinfo, tree)
    return monitor_dissect(tvb, pinfo, tree)
end

local function monitor_heuristic(tvb, pinfo, tree)
    return monitor_dissect(tvb, pinfo, tree) > 0
end

---------------------------------------------------------------- echo
local echo = Proto("courseecho", "Socket course echo")
local ec_text = ProtoField.string("echo.text", "text")
local ec_reply = ProtoField.bool("echo.reply", "reply")
echo.fields = { ec_text, ec_reply }

function echo.dissector(tvb, pinfo, tree)
    if tvb:len() == 0 then return 0 end
    local reply = pinfo.src_port == ECHO_PORT or server_ports.tcp[pinfo.src_port] == "echo"
        or server_ports.udp[pinfo.src_port] == "echo"
    local t = tree:add(echo, tvb(), reply and "echo reply" or "echo")
    t:add(ec_text, tvb(), tvb:raw())
    t:add(ec_reply, reply)
    pinfo.cols.protocol = "echo"
    return tvb:len()
end

---------------------------------------------------------------- registration
local protos = { ["udp-calc"] = udpcalc, ["udp-calc-net"] = udpcalc, ["tcp-calc"] = tcpcalc,
    ["monitor"] = monitor, ["echo"] = echo }

-- Decode `port` (UDP or TCP) as the course protocol `name`.
local function decode_as(transport, port, name)
    local p = protos[name]
    if not p then return end
    if name == "udp-calc-net" then network_order_ports[port] = true end
    server_ports[transport][port] = name
    DissectorTable.get(transport .. ".port"):add(port, p)
end

decode_as("udp", CALC_PORT, "udp-calc")
decode_as("tcp", CALC_PORT, "tcp-calc")
decode_as("udp", ECHO_PORT, "echo")
decode_as("tcp", ECHO_PORT, "echo")
decode_as("tcp", MONITOR_PORT, "monitor")

udpcalc:register_heuristic("udp", udpcalc_heuristic)
monitor:register_heuristic("tcp", monitor_heuristic)
tcpcalc:register_heuristic("tcp", tcpcalc_heuristic)
