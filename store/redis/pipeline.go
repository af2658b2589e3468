package redis

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// pipeliner sends the commands of concurrent callers to Redis together: a
// caller that finds no flush running sends what is queued, its own command
// first, as one pipeline (one round trip); the callers that arrive
// meanwhile queue, and when the flush ends the first of them sends the
// next pipeline. A lone command is sent at once, alone. Each command keeps
// its own meaning: a Lua script (EVALSHA) runs atomically in Redis
// whatever shares its pipeline, and each caller reads its own reply.
//
// It is the Scripter the store's scripts run through, and it sends the
// store's GETs, so that lookups and writes share round trips too.
type pipeliner struct {
	client  goredis.UniversalClient
	timeout time.Duration // bounds one flush; 0: none of its own

	mu    sync.Mutex
	queue []*pcall
	busy  bool // a caller is flushing
	// together counts down the flushes since one carried several
	// commands or left some queued: while it is above zero, commands come
	// together.
	together   atomic.Int32
	sinceYield atomic.Uint32

	flushes, cmds atomic.Int64
}

// maxPipeline bounds the commands of one pipeline.
const maxPipeline = 512

// yieldEvery: while commands come alone, one flush in yieldEvery still
// lets the ready goroutines queue theirs first (see flush).
const yieldEvery = 64

// togetherFor is how many flushes of one command still count as commands
// coming together after a flush of several.
const togetherFor = 16

// pcall is one caller's command.
type pcall struct {
	cmd    goredis.Cmder
	queued time.Time     // when do queued it, if the pipeliner has a timeout
	ready  chan struct{} // closed when cmd has its reply, or when lead is set
	lead   bool          // the caller sends the next pipeline
	taken  bool          // in a pipeline on its way
}

var _ goredis.Scripter = (*pipeliner)(nil)

// do sends cmd, in the next pipeline, and returns when it has its reply.
// A caller whose ctx ends while its command is still queued takes it back
// out, unsent, with ctx's error; once sent, the reply is waited for
// (bounded by the flush's timeout), as a plain client waits for it.
func (p *pipeliner) do(ctx context.Context, cmd goredis.Cmder) {
	c := &pcall{cmd: cmd, ready: make(chan struct{})}
	if p.timeout > 0 {
		c.queued = time.Now()
	}
	p.mu.Lock()
	p.queue = append(p.queue, c)
	if !p.busy {
		p.busy = true
		p.mu.Unlock()
		p.flush()
		return
	}
	p.mu.Unlock()
	select {
	case <-c.ready:
	case <-ctx.Done():
		p.mu.Lock()
		if !c.taken && !c.lead {
			for i, q := range p.queue {
				if q == c {
					p.queue = append(p.queue[:i], p.queue[i+1:]...)
					break
				}
			}
			p.mu.Unlock()
			cmd.SetErr(ctx.Err())
			return
		}
		p.mu.Unlock()
		<-c.ready
	}
	if c.lead {
		p.flush()
	}
}

// flush sends the queued commands, then hands the next flush to the first
// caller still queued, or ends the busy spell.
func (p *pipeliner) flush() {
	// While commands come together, let the goroutines ready to run
	// (requests on their way to a command) queue theirs first: where the
	// process is short of CPU, the flusher would otherwise send every
	// command alone. A lone caller is not made to wait behind unrelated
	// goroutines, but one flush in yieldEvery yields anyway, to find out
	// whether commands would come together if let.
	if p.together.Load() > 0 || p.sinceYield.Add(1)%yieldEvery == 0 {
		runtime.Gosched()
	}
	p.mu.Lock()
	n := min(len(p.queue), maxPipeline)
	batch := make([]*pcall, n)
	copy(batch, p.queue)
	rest := copy(p.queue, p.queue[n:])
	clear(p.queue[rest:])
	p.queue = p.queue[:rest]
	for _, c := range batch {
		c.taken = true
	}
	// A command that waited in the queue past the timeout (the flushes
	// ahead of it were slow: Redis is failing) is answered with that, not
	// sent: the wait of a caller that has no deadline of its own is
	// bounded by about the timeout in the queue and the timeout of its
	// flush.
	var expired []*pcall
	if p.timeout > 0 {
		now := time.Now()
		kept := batch[:0]
		for _, c := range batch {
			if now.Sub(c.queued) > p.timeout {
				expired = append(expired, c)
				continue
			}
			kept = append(kept, c)
		}
		batch = kept
	}
	if n > 1 || rest > 0 {
		p.together.Store(togetherFor)
	} else if p.together.Load() > 0 {
		p.together.Add(-1)
	}
	p.mu.Unlock()

	ctx := context.Background()
	if p.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.timeout)
		defer cancel()
	}
	for _, c := range expired {
		c.cmd.SetErr(errQueuedTooLong)
		if !c.lead {
			close(c.ready)
		}
	}
	switch len(batch) {
	case 0:
	case 1:
		_ = p.client.Process(ctx, batch[0].cmd)
	default:
		pipe := p.client.Pipeline()
		for _, c := range batch {
			_ = pipe.Process(ctx, c.cmd)
		}
		// Each command gets its own reply or error.
		_, _ = pipe.Exec(ctx)
	}
	if len(batch) > 0 {
		p.flushes.Add(1)
		p.cmds.Add(int64(len(batch)))
	}
	for _, c := range batch {
		if !c.lead { // a leader's ready was closed when it was made one
			close(c.ready)
		}
	}

	p.mu.Lock()
	if len(p.queue) == 0 {
		p.busy = false
		p.mu.Unlock()
		return
	}
	next := p.queue[0]
	next.lead = true
	p.mu.Unlock()
	close(next.ready)
}

// errQueuedTooLong is the error of a command that waited in the pipeline's
// queue for longer than the store's timeout.
var errQueuedTooLong = fmt.Errorf("redis store: queued for longer than the timeout: %w", context.DeadlineExceeded)

// evalCmd is the command go-redis's Eval and EvalSha make: name, the
// script or its SHA-1, the key count, the keys, the arguments; routed by
// its first key on Redis Cluster.
func evalCmd(ctx context.Context, name, payload string, keys []string, args []any) *goredis.Cmd {
	a := make([]any, 0, 3+len(keys)+len(args))
	a = append(a, name, payload, len(keys))
	for _, k := range keys {
		a = append(a, k)
	}
	a = append(a, args...)
	cmd := goredis.NewCmd(ctx, a...)
	if len(keys) > 0 {
		cmd.SetFirstKeyPos(3)
	}
	return cmd
}

// Eval runs script in the next pipeline.
func (p *pipeliner) Eval(ctx context.Context, script string, keys []string, args ...any) *goredis.Cmd {
	cmd := evalCmd(ctx, "eval", script, keys, args)
	p.do(ctx, cmd)
	return cmd
}

// EvalSha runs the script of sha1 in the next pipeline.
func (p *pipeliner) EvalSha(ctx context.Context, sha1 string, keys []string, args ...any) *goredis.Cmd {
	cmd := evalCmd(ctx, "evalsha", sha1, keys, args)
	p.do(ctx, cmd)
	return cmd
}

// EvalRO runs a read-only script in the next pipeline.
func (p *pipeliner) EvalRO(ctx context.Context, script string, keys []string, args ...any) *goredis.Cmd {
	cmd := evalCmd(ctx, "eval_ro", script, keys, args)
	p.do(ctx, cmd)
	return cmd
}

// EvalShaRO runs the read-only script of sha1 in the next pipeline.
func (p *pipeliner) EvalShaRO(ctx context.Context, sha1 string, keys []string, args ...any) *goredis.Cmd {
	cmd := evalCmd(ctx, "evalsha_ro", sha1, keys, args)
	p.do(ctx, cmd)
	return cmd
}

// ScriptExists asks Redis directly.
func (p *pipeliner) ScriptExists(ctx context.Context, hashes ...string) *goredis.BoolSliceCmd {
	return p.client.ScriptExists(ctx, hashes...)
}

// ScriptLoad loads script directly.
func (p *pipeliner) ScriptLoad(ctx context.Context, script string) *goredis.StringCmd {
	return p.client.ScriptLoad(ctx, script)
}

// Get reads key in the next pipeline.
func (p *pipeliner) Get(ctx context.Context, key string) *goredis.StringCmd {
	cmd := goredis.NewStringCmd(ctx, "get", key)
	p.do(ctx, cmd)
	return cmd
}

// PipelineStats tells how the store's commands were grouped: Pipelines
// round trips carried Commands commands.
type PipelineStats struct {
	Pipelines, Commands int64
}

// Pipelines returns how many round trips the store's pipelined commands
// (its scripts and lookups) took, and how many commands they carried.
func (s *TokenStore) Pipelines() PipelineStats {
	return PipelineStats{Pipelines: s.pipe.flushes.Load(), Commands: s.pipe.cmds.Load()}
}
