//! The allocator of the binaries: the application chooses it, never the libraries.
//!
//! jemalloc, because glibc's malloc served these binaries badly in two ways (BENCHMARKS.md has
//! the figures of both):
//! - `eks_to_cloudwatch` decodes every live event of the cluster at once in its first list;
//!   glibc keeps most of that memory as the process's steady size, jemalloc returns it to the
//!   system within seconds.
//! - `event_history` allocates each event on its reading thread and frees it on the printing
//!   thread; glibc locks the reading thread's arena for every such free, and the two threads
//!   spent a third of their time in the allocator and waiting on that lock.
//!
//! One arena (`narenas:1`) instead of jemalloc's four per core: these binaries have a few busy
//! threads, and every arena keeps memory of its own. It took the exporter's peak at 1,000,000
//! live events into CloudWatch from 64.3 to 52.8–53.5 MiB and its steady RSS down by 0.8–1.4 MiB,
//! at no measurable cost in speed. The option is built into jemalloc by `.cargo/config.toml`
//! (`JEMALLOC_SYS_WITH_MALLOC_CONF`); `_RJEM_MALLOC_CONF` in the environment overrides it.

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
