package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Errors returned by this package.
var (
	// ErrFenced is returned by a write or renewal of a lease that another
	// node has taken over (or that ended): this node is no longer the room's
	// owner and must stop acting as it.
	ErrFenced = errors.New("cluster: fenced: this node no longer owns the room")
	// ErrLeaseExpired is a lease's Err when it could not be renewed before
	// its TTL ran out (Redis unreachable): another node may own the room.
	ErrLeaseExpired = errors.New("cluster: lease expired before it could be renewed")
	// ErrOwned is returned by Claim when another node holds the room's
	// lease; the error is an *OwnedError naming it.
	ErrOwned = errors.New("cluster: room owned by another node")
	// ErrNoNodes is returned by PlaceRoom when no live node is known.
	ErrNoNodes = errors.New("cluster: no live node")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("cluster: closed")
	// ErrNoRedisURL is returned by New without Config.RedisURL.
	ErrNoRedisURL = errors.New("cluster: no Redis URL")
)

// OwnedError says which node owns a room that Claim could not take.
type OwnedError struct {
	Room  string
	Node  string // owner's node ID
	Epoch uint64
}

func (e *OwnedError) Error() string {
	return fmt.Sprintf("cluster: room %q owned by node %q (epoch %d)", e.Room, e.Node, e.Epoch)
}

// Is makes errors.Is(err, ErrOwned) true.
func (e *OwnedError) Is(target error) bool { return target == ErrOwned }

// Load is what a node reports about itself in its heartbeat.
type Load struct {
	Rooms        int `json:"rooms"`
	Participants int `json:"participants"`
	// Draining nodes (starting or shutting down) get no new rooms.
	Draining bool `json:"draining,omitempty"`
	// Leaving is set on a node shutting down, which gives its rooms up
	// once its connections closed: another node's join for one of them
	// waits for that and takes the room over, instead of relaying the
	// participant there. (A node starting is Draining, not Leaving.)
	Leaving bool `json:"leaving,omitempty"`
}

// Config configures a Cluster. The zero value of every field but RedisURL
// means its default.
type Config struct {
	// RedisURL is redis://[user:password@]host:port/db or rediss:// for
	// TLS; with ?master_name=NAME the host is a Sentinel and the client
	// follows the master it names.
	RedisURL string
	// NodeID names this node, unique in the cluster and per process (a
	// restarted node should get a new one). Default: host name plus a
	// random suffix.
	NodeID string
	// NodeURL is how other nodes (and redirected clients) reach this one,
	// e.g. https://node1.internal:8443. Only stored and shown.
	NodeURL string
	// Load reports this node's load for each heartbeat. Nil: zero load.
	// Called from the heartbeat goroutine; must be quick and safe for
	// concurrent use.
	Load func() Load

	// HeartbeatInterval is how often the node writes its presence: 1s.
	HeartbeatInterval time.Duration
	// NodeTTL is how long a node stays listed after its last heartbeat: 5s.
	NodeTTL time.Duration
	// LeaseTTL is how long a room lease lasts unrenewed: 3s. It bounds how
	// long a meeting whose home died waits to be taken over (the issue
	// wants media back within 5 s of a kill, and the browsers need about
	// a second after the takeover); renewed every 0.9 s, a lease outlives
	// two failed renewals.
	LeaseTTL time.Duration
	// RenewInterval is how often a lease is renewed: LeaseTTL*3/10.
	RenewInterval time.Duration
	// OpTimeout bounds every Redis command (besides blocking stream
	// reads), so that a dead or frozen Redis gives an error, not a hang: 2s.
	OpTimeout time.Duration
	// KeyPrefix starts every key: "huddle:".
	KeyPrefix string
	// ChatHistory is how many chat messages a room keeps: 200.
	ChatHistory int
	// StateTTL removes a room's keys this long after its last write or
	// lease renewal, should no node end the room (all died): 24h.
	StateTTL time.Duration
	// StreamMaxLen caps each node's event stream (approximately): 10000.
	StreamMaxLen int64
	// StreamBlock is how long one stream read blocks: 5s.
	StreamBlock time.Duration
	// RelayBacklog is how many events may wait for one node while Redis
	// is unreachable before Publish refuses more: 10000.
	RelayBacklog int

	// Logger; nil means slog.Default().
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.HeartbeatInterval, time.Second)
	def(&c.NodeTTL, 5*time.Second)
	def(&c.LeaseTTL, 3*time.Second)
	def(&c.RenewInterval, c.LeaseTTL*3/10)
	def(&c.OpTimeout, 2*time.Second)
	def(&c.StateTTL, 24*time.Hour)
	def(&c.StreamBlock, 5*time.Second)
	if c.KeyPrefix == "" {
		c.KeyPrefix = "huddle:"
	}
	if c.ChatHistory <= 0 {
		c.ChatHistory = 200
	}
	if c.StreamMaxLen <= 0 {
		c.StreamMaxLen = 10000
	}
	if c.RelayBacklog <= 0 {
		c.RelayBacklog = 10000
	}
	if c.NodeID == "" {
		c.NodeID = DefaultNodeID()
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// DefaultNodeID is the host name plus a random suffix: unique per process,
// so a restarted node never inherits its former self's leases or stream.
func DefaultNodeID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "node"
	}
	return host + "-" + randomHex(4)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand since Go 1.24)
	return hex.EncodeToString(b)
}

// Cluster is one node's view of the cluster. It is safe for concurrent use.
type Cluster struct {
	cfg Config
	rdb *redis.Client
	// blk carries the blocking stream reads alone, so that Close can end
	// one at once by closing it (go-redis does not interrupt a blocked
	// read when its context is cancelled), and it holds no pool
	// connection of rdb.
	blk    *redis.Client
	log    *slog.Logger
	ctx    context.Context // cancelled by Close; parent of background work
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	closed bool              // set by Close: no new background work
	leases map[string]*Lease // live leases of this node, by room
	// claiming serializes Claims per room (lease.go).
	claiming map[string]*roomClaim
	relay    relayState
	stats    counters
	// run tells this process from others under the same node id (Event.Run).
	run uint64
}

// background runs f in a goroutine that Close waits for, unless the
// cluster is closed (then it reports false and f does not run).
func (c *Cluster) background(f func()) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		f()
	}()
	return true
}

// enter counts work that Close waits for, done by the caller's goroutine
// (which calls c.wg.Done when finished), unless the cluster is closed.
func (c *Cluster) enter() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.wg.Add(1)
	return true
}

// New connects to Redis, checks it answers within OpTimeout, writes a first
// heartbeat and starts the heartbeat loop. Close stops it.
func New(ctx context.Context, cfg Config) (*Cluster, error) {
	if cfg.RedisURL == "" {
		return nil, ErrNoRedisURL
	}
	cfg = cfg.withDefaults()
	if err := CheckNodeID(cfg.NodeID); err != nil {
		return nil, err
	}
	rdb, err := newClient(cfg)
	if err != nil {
		return nil, err
	}
	blk, err := newClient(cfg)
	if err != nil {
		_ = rdb.Close()
		return nil, err
	}
	bg, cancel := context.WithCancel(context.Background())
	c := &Cluster{cfg: cfg, rdb: rdb, blk: blk, log: cfg.Logger.With("node", cfg.NodeID), ctx: bg, cancel: cancel,
		leases: map[string]*Lease{}, claiming: map[string]*roomClaim{}, run: newRun()}
	c.relay.init()
	if err := c.Beat(ctx); err != nil {
		cancel()
		_ = rdb.Close()
		_ = blk.Close()
		return nil, err
	}
	c.background(c.heartbeatLoop)
	return c, nil
}

// newClient builds the Redis client from the URL: a Sentinel-following one
// with master_name, a plain one otherwise. Timeouts come from OpTimeout,
// and context deadlines reach the socket (ContextTimeoutEnabled), so no
// command outlives its context.
func newClient(cfg Config) (*redis.Client, error) {
	if err := CheckURL(cfg.RedisURL); err != nil {
		return nil, err
	}
	if sentinel(cfg.RedisURL) {
		opt, err := redis.ParseFailoverURL(cfg.RedisURL)
		if err != nil {
			return nil, fmt.Errorf("cluster: redis URL: %w", err)
		}
		opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = cfg.OpTimeout, cfg.OpTimeout, cfg.OpTimeout
		opt.ContextTimeoutEnabled = true
		opt.DialerRetries = dialerRetries
		opt.ClientName = cfg.NodeID
		opt.ReadBufferSize, opt.WriteBufferSize = connBuffer, connBuffer
		opt.PipelineReadBufferSize, opt.PipelineWriteBufferSize = pipeBuffer, pipeBuffer
		return redis.NewFailoverClient(opt), nil
	}
	opt, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("cluster: redis URL: %w", err)
	}
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = cfg.OpTimeout, cfg.OpTimeout, cfg.OpTimeout
	opt.ContextTimeoutEnabled = true
	opt.DialerRetries = dialerRetries
	opt.ClientName = cfg.NodeID
	opt.ReadBufferSize, opt.WriteBufferSize = connBuffer, connBuffer
	opt.PipelineReadBufferSize, opt.PipelineWriteBufferSize = pipeBuffer, pipeBuffer
	return redis.NewClient(opt), nil
}

// dialerRetries is one dial per attempt of a command. go-redis dials up to
// 5 times 100 ms apart within each of a command's 4 attempts: with Redis
// down (connection refused), every command took 1.7 s to fail, and a join
// during an outage waited out its whole 2 s look-up before the node served
// the meeting alone. The command's own retries still dial again.
const dialerRetries = 1

// Buffers of a Redis connection. go-redis's defaults (32 KiB each way, 128
// KiB for pipelines) are sized for large values; this package sends and
// reads small ones (an event is a few hundred bytes, a room's state a few
// KiB), and a node under a burst of joins opens a few dozen connections:
// at the defaults that was about 1.5 KiB of heap per connected socket
// (bench/README.md, cluster step). A larger reply is read in several
// syscalls, not refused.
const (
	connBuffer = 4 << 10
	pipeBuffer = 16 << 10
)

// ErrBadURL is returned for a Redis URL that cannot be used. Its messages
// never repeat the URL, which may hold a password.
var ErrBadURL = errors.New("cluster: bad Redis URL")

// CheckURL reports whether s is a usable Redis URL (see Config.RedisURL)
// without connecting.
func CheckURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%w: not a URL", ErrBadURL)
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return fmt.Errorf("%w: want redis:// or rediss://, got %q", ErrBadURL, u.Scheme+"://")
	}
	if sentinel(s) {
		_, err = redis.ParseFailoverURL(s)
	} else {
		_, err = redis.ParseURL(s)
	}
	if err != nil {
		// go-redis names the part it did not like, not the password.
		return fmt.Errorf("%w: %s", ErrBadURL, strings.TrimPrefix(err.Error(), "redis: "))
	}
	return nil
}

// CheckNodeID reports whether id can name a node: it is a key part, so
// no braces, colons or white space, and at most 100 bytes.
func CheckNodeID(id string) error {
	if id == "" || len(id) > 100 || strings.ContainsAny(id, "{}: \t\r\n") {
		return fmt.Errorf("cluster: node ID %q: want 1 to 100 characters, no braces, colons or spaces", id)
	}
	return nil
}

func sentinel(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Query().Has("master_name")
}

// NodeID is this node's ID.
func (c *Cluster) NodeID() string { return c.cfg.NodeID }

// LeaseTTL is how long a room lease lasts unrenewed (Config.LeaseTTL).
func (c *Cluster) LeaseTTL() time.Duration { return c.cfg.LeaseTTL }

// HeartbeatInterval is how often nodes write their presence.
func (c *Cluster) HeartbeatInterval() time.Duration { return c.cfg.HeartbeatInterval }

// Close stops the heartbeat, the lease renewals and the relay, removes this
// node from the registry (best effort, within OpTimeout) and closes the
// Redis connection; a second Close does nothing. Leases are not released
// (they lapse after LeaseTTL): a node that stops this way hands its rooms
// over by ending or releasing them first. Events not yet sent are lost.
func (c *Cluster) Close() error {
	c.mu.Lock()
	again := c.closed
	c.closed = true
	c.mu.Unlock()
	if again {
		return nil
	}
	c.cancel()
	_ = c.blk.Close() // ends a blocked stream read now, not after StreamBlock
	// The leases' renewals are timers, not goroutines that see the
	// cancel: they are lost here.
	c.mu.Lock()
	leases := make([]*Lease, 0, len(c.leases))
	for _, l := range c.leases {
		leases = append(leases, l)
	}
	c.mu.Unlock()
	for _, l := range leases {
		l.lose(ErrClosed)
	}
	c.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.OpTimeout)
	defer cancel()
	_ = c.rdb.Del(ctx, c.nodeKey(c.cfg.NodeID)).Err()
	_ = c.rdb.SRem(ctx, c.key("nodes"), c.cfg.NodeID).Err()
	_ = c.rdb.Del(ctx, c.streamKey(c.cfg.NodeID)).Err() // nobody reads it now
	return c.rdb.Close()
}

// op bounds one Redis round trip by OpTimeout within ctx.
func (c *Cluster) op(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.cfg.OpTimeout)
}

func (c *Cluster) key(parts ...string) string {
	return c.cfg.KeyPrefix + strings.Join(parts, ":")
}

func (c *Cluster) nodeKey(id string) string { return c.key("node", id) }

// roomKey is one of a room's keys; the braces make them one hash slot.
func (c *Cluster) roomKey(room, part string) string {
	return c.cfg.KeyPrefix + "room:{" + room + "}:" + part
}

type redisPipe = redis.Pipeliner
