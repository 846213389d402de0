# Generates the end-to-end drain benchmark's data set as Redis protocol (RESP), for
# `redis-cli --pipe` (used by bench/drain.sh). Plain POSIX awk (mawk, Debian's default, or gawk):
# no python needed. Deterministic for a given seed: the pseudo-random numbers come from our own
# MINSTD generator (exact in double precision), not from the awk implementation's rand().
#
#   awk -v jobs=50000 -v seed=20261125 -v now=$(date +%s) -v stats=FILE -f drain_seed.awk </dev/null
#
# Writes (CONTRACT.md sections 1 and 2):
# - 100 workspaces (ids 1..100) in wa:workspaces, each with 3..10 webjs sessions of mixed health
#   (wa:session:<id> hashes and wa:workspace:<id>:sessions sets); about a third have Meta
#   configured (wa:workspace:<id>:meta), a few have a Meta hash with configured 0.
# - `jobs` campaign jobs of 20 contacts each, as Laravel's Queue::pushRaw enqueues them: the
#   payload RPUSHed on queues:wa-campaigns and one `1` RPUSHed on queues:wa-campaigns:notify
#   per job. A campaign is 1..8 consecutive jobs (chunks of its contact list) of one workspace,
#   workspaces drawn uniformly.
# The file named by `stats` gets "key value" lines about what was generated (job mix).

function rnd(n) {  # uniform integer in 0..n-1
  state = (state * 48271) % 2147483647
  return int(state / 2147483647 * n)
}
function between(a, b) { return a + rnd(b - a + 1) }
function uuid() {
  return sprintf("%04x%04x-%04x-4%03x-%04x-%04x%04x%04x", rnd(65536), rnd(65536), rnd(65536),
                 rnd(4096), 32768 + rnd(16384), rnd(65536), rnd(65536), rnd(65536))
}
# One command: the arguments are in a[1..n].
function emit(n,    i) {
  printf "*%d\r\n", n
  for (i = 1; i <= n; i++) printf "$%d\r\n%s\r\n", length(a[i]), a[i]
}
function cmd2(x, y) { a[1] = x; a[2] = y; emit(2) }
function cmd3(x, y, z) { a[1] = x; a[2] = y; a[3] = z; emit(3) }

BEGIN {
  if (jobs == "") jobs = 50000
  if (seed == "") seed = 20261125
  if (now == "") { print "drain_seed.awk: -v now=UNIX_SECONDS is required" > "/dev/stderr"; exit 2 }
  jobs += 0; now += 0
  state = (seed % 2147483646) + 1
  day = 86400
  nworkspaces = 100
  contacts_per_job = 20


  # ---- workspaces and sessions ------------------------------------------------------------
  nsessions = 0
  for (w = 1; w <= nworkspaces; w++) {
    cmd3("SADD", "wa:workspaces", w)
    ns = between(3, 10)
    has_primary = rnd(100) < 70
    for (k = 1; k <= ns; k++) {
      sid = sprintf("wa-%d-%d", w, k)
      nsessions++
      created = now - between(3 * day, 400 * day)          # linked days to a year ago
      r = rnd(100)
      status = "connected"; active = 1; last_conn = ""; last_act = ""; disc = ""
      if (r < 65) {            # healthy: connected, reconnected some time ago, active minutes ago
        last_conn = created + rnd(now - created)
        last_act = now - between(0, 240)
        kind = "healthy"
      } else if (r < 78) {     # connected but quiet for a while
        last_conn = created + rnd(now - created)
        last_act = now - between(600, 4 * 3600)
        kind = "quiet"
      } else if (r < 88) {     # lost the phone: disconnected, often deactivated
        status = "disconnected"; active = rnd(100) < 40
        last_conn = created + rnd(now - created - 3600)
        disc = last_conn + rnd(now - last_conn)
        last_act = disc - between(0, 3600)
        if (last_act < last_conn) last_act = last_conn
        kind = "disconnected"
      } else if (r < 95) {     # flapping or broken
        status = (rnd(2) ? "connecting" : (rnd(2) ? "failed" : "error")); active = rnd(100) < 70
        last_conn = created + rnd(now - created)
        last_act = last_conn + rnd(now - last_conn)
        if (status != "connecting") disc = last_act + rnd(now - last_act + 1)
        kind = "broken"
      } else {                 # linked recently, QR never scanned: never active, never connected
        status = (rnd(2) ? "qr_scanning" : "connecting"); active = rnd(2)
        created = now - between(60, 7 * day)
        kind = "never"
      }
      count[kind]++
      primary = (k == 1 && has_primary) ? 1 : 0
      n = 0
      a[++n] = "HSET"; a[++n] = "wa:session:" sid
      a[++n] = "workspace_id"; a[++n] = w
      a[++n] = "uuid"; a[++n] = uuid()
      a[++n] = "phone_number"; a[++n] = sprintf("+%d%09d", between(1, 99), rnd(1000000000))
      a[++n] = "provider_type"; a[++n] = "webjs"
      a[++n] = "status"; a[++n] = status
      a[++n] = "is_active"; a[++n] = active
      a[++n] = "is_primary"; a[++n] = primary
      a[++n] = "created_at"; a[++n] = created
      if (last_conn != "") { a[++n] = "last_connected_at"; a[++n] = last_conn }
      if (last_act != "") { a[++n] = "last_activity_at"; a[++n] = last_act }
      if (disc != "") { a[++n] = "disconnected_at"; a[++n] = disc }
      emit(n)
      cmd3("SADD", "wa:workspace:" w ":sessions", sid)
    }
    r = rnd(100)
    if (r < 35) {
      tier = (rnd(3) == 0) ? 10000 : 1000
      a[1] = "HSET"; a[2] = "wa:workspace:" w ":meta"; a[3] = "configured"; a[4] = 1
      a[5] = "throughput_mps"; a[6] = 80; a[7] = "tier_limit"; a[8] = tier
      a[9] = "quality"; a[10] = (rnd(10) < 8) ? "GREEN" : "YELLOW"
      emit(10)
      meta++
    } else if (r < 40) {
      a[1] = "HSET"; a[2] = "wa:workspace:" w ":meta"; a[3] = "configured"; a[4] = 0
      emit(4)
    }
  }

  # ---- campaign jobs ----------------------------------------------------------------------
  campaign = 7000; left = 0
  for (j = 1; j <= jobs; j++) {
    if (left == 0) {           # a new campaign: workspace, mode, template, preference
      campaign++
      left = between(1, 8)
      ws = between(1, nworkspaces)
      tpl_id = between(100, 999)
      r = rnd(1000)
      if (r < 620)      { mode = "direct";   pref = "auto";     tpl = "" }
      else if (r < 800) { mode = "direct";   pref = "auto";     tpl = "APPROVED" }
      else if (r < 930) { mode = "template"; pref = "auto";     tpl = "APPROVED" }
      else if (r < 960) { mode = "template"; pref = "auto";     tpl = "PENDING" }
      else if (r < 980) { mode = "direct";   pref = "webjs";    tpl = "" }
      else              { mode = "template"; pref = "meta_api"; tpl = "APPROVED" }
      compat = (rnd(4) == 0) ? "false" : "true"
      chunk = 0
    }
    left--; chunk++
    contacts = ""
    for (c = 0; c < contacts_per_job; c++)
      contacts = contacts (c ? "," : "") between(1, 4000000)
    p = "{\"job_id\":\"" uuid() "\",\"campaign_id\":" campaign ",\"workspace_id\":" ws \
        ",\"template_mode\":\"" mode "\",\"provider_preference\":\"" pref "\""
    if (tpl != "")
      p = p ",\"template\":{\"id\":" tpl_id ",\"status\":\"" tpl "\",\"webjs_compatible\":" compat "}"
    p = p ",\"contacts\":[" contacts "],\"chunk\":" chunk ",\"queued_at\":" (now - rnd(60)) ",\"attempts\":0}"
    cmd3("RPUSH", "queues:wa-campaigns", p)
    cmd3("RPUSH", "queues:wa-campaigns:notify", "1")
    mix[mode "/" pref "/" (tpl == "" ? "none" : tpl)]++
    if (tpl == "PENDING") pending++
  }

  if (stats != "") {
    printf "sessions %d\nworkspaces %d\nmeta_configured %d\ncampaigns %d\npending %d\n", \
           nsessions, nworkspaces, meta, campaign - 7000, pending + 0 > stats
    for (k in count) printf "sessions_%s %d\n", k, count[k] > stats
    for (k in mix) printf "jobs_%s %d\n", k, mix[k] > stats
    close(stats)
  }
}
