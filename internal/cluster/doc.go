// Package cluster is the foundation of running several Huddle nodes as one
// service on Redis: a registry of live nodes with their load, room
// ownership by leases with fencing, the shared part of a room's state, and
// a relay of numbered events between nodes.
//
// Nothing here is used unless --redis-url is given: a Huddle without it
// never opens a Redis connection.
//
// # Pieces
//
//   - [Cluster.Nodes] lists live nodes. Each node writes its presence and
//     load (rooms, participants, draining) to a key with a TTL every
//     HeartbeatInterval; a node that stops beating is gone after NodeTTL.
//   - [Cluster.Claim] makes this node a room's owner (home) for LeaseTTL,
//     [Cluster.Reserve] another node, which takes it with [Cluster.Adopt],
//     renewed every RenewInterval by the [Lease] itself. Every change of
//     owner increases the room's epoch. A lease that cannot be confirmed
//     before its TTL runs out, or that Redis says another node holds, is
//     lost: [Lease.Lost] is closed and the node must stop acting as the
//     room's owner.
//   - [RoomState] holds what another node needs to take a room over:
//     participants (with the node holding each socket), host, lock,
//     password hash, waiting room, a bounded chat history and resume
//     tokens. Its writes go through a Lua script that checks the lease's
//     fencing token, so a stale owner (frozen, partitioned, its lease taken)
//     can no longer write: it gets [ErrFenced]. Reads need no lease.
//   - [Cluster.PlaceRoom] picks a home for a new room: the less loaded of
//     two random live, non-draining nodes (power of two choices).
//   - [Cluster.Publish] and [Cluster.Subscribe] relay events to one node
//     through its own Redis stream (XADD with MAXLEN, XREADGROUP BLOCK),
//     numbered per (sender, receiver) and acknowledged with XACK after
//     delivery; the receiver drops duplicates by (sender, seq). Events go to
//     the node that needs them, never to every node.
//
// # Fencing token
//
// A claim stores, in the room's owner hash (which has no lease TTL), the
// owner's node ID, the epoch and a random token; the lease key (with the
// TTL) holds the same token. A write is accepted only if the owner hash
// still holds the writer's token. The random token, not only the epoch,
// makes this safe when Redis restarts empty: epochs start at 1 again, but
// a stale owner's token never matches a new one.
//
// # Redis losing its data
//
// A Redis restarted without persistence (or a failover to an empty
// replica) loses every key. Heartbeats write the registry again within
// HeartbeatInterval. A lease whose owner hash is gone restores it from the
// node's memory on its next renewal or write, with the same epoch and
// token, and says so ([Lease.OnRewrite]) so that the owner writes the room's
// state again. Telling this apart from a room that another node ended is
// the generation key, written once per Redis data set: if it is still the
// one the lease was taken under, the room ended and the lease is fenced.
// Redis should run with maxmemory-policy noeviction (the default): an
// evicted key looks like lost data.
//
// # Keys
//
// All keys start with Config.KeyPrefix ("huddle:"). A room's keys carry the
// room name in braces ({room}), a Redis Cluster hash tag, so that one Lua
// script may touch all of them.
//
//	huddle:gen                      random value written once per Redis data set
//	huddle:nodes                    set of node IDs seen (pruned when their key is gone)
//	huddle:node:<id>                JSON Node, PX NodeTTL
//	huddle:node:<id>:events         stream of events for that node, PX StateTTL, deleted by Close
//	huddle:room:{<room>}:owner      hash node, epoch, token
//	huddle:room:{<room>}:lease      token, PX LeaseTTL
//	huddle:room:{<room>}:meta       hash host, locked, password_hash, waiting_room
//	huddle:room:{<room>}:parts      hash participant ID -> JSON Participant
//	huddle:room:{<room>}:waiting    hash participant ID -> JSON Participant
//	huddle:room:{<room>}:chat       list of JSON ChatMessage, trimmed to ChatHistory
//	huddle:room:{<room>}:resume     hash token hash -> JSON Resume
//
// # How the rest of Huddle uses it
//
// internal/clusterlink connects signaling to it: room homes by Claim,
// Reserve and Adopt (a new room placed on another node is reserved for
// it, so that nodes placing one room at once agree); sockets relayed to
// their room's home with Publish and Subscribe, and what a dead node
// never delivered read back with Undelivered; each room's shared state
// mirrored by its home with RoomState.Apply; a room whose home died
// rebuilt from LoadRoom by the node that claims it next (epoch > 1);
// leases released on shutdown. internal/server starts it with
// --redis-url.
//
// # Client
//
// The client is github.com/redis/go-redis/v9 rather than rueidis: it
// speaks Sentinel through the same URL (master_name=...) and client type,
// its Script type runs EVALSHA with a fallback to EVAL after a Redis
// restart lost the script cache (which this package relies on, since Redis
// may restart under a running cluster), every command takes a context, and
// it is the client most Go operators and contributors already know.
// rueidis's strengths (client-side caching, automatic pipelining) matter
// little for a few commands per second per room.
package cluster
