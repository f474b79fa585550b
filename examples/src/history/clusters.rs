//! [`Clusters`]: the CloudWatch histories of several clusters read as one, merged in time
//! order, each event naming its cluster.

use std::pin::Pin;
use std::task::{Context, Poll};

use event_core::Event;
use event_history::HistorySource;
use futures::stream::BoxStream;
use futures::{Stream, StreamExt};
use jiff::SignedDuration;
use sink_cloudwatch::{CloudWatchHistory, NameTemplate};

use super::HistoryError;

/// Several clusters' sources, read together; see [`merge_by_time`].
#[derive(Debug)]
#[must_use = "a source does nothing until a history reads it"]
pub struct Clusters<S> {
    sources: Vec<(String, S)>,
    shared: bool,
}

impl<S> Clusters<S> {
    /// Reads each `(cluster, source)`; an event without a `cluster` gets the name of the one
    /// it was read from.
    pub fn new(sources: Vec<(String, S)>) -> Self {
        Clusters {
            sources,
            shared: false,
        }
    }

    /// The sources read one group that several clusters share: from each, only the records
    /// that name its cluster (or none) are kept, whatever the server-side filter could hold.
    pub fn shared(mut self, shared: bool) -> Self {
        self.shared = shared;
        self
    }
}

impl<S: HistorySource> HistorySource for Clusters<S> {
    type Error = S::Error;

    fn read(&mut self) -> BoxStream<'static, Result<Event, S::Error>> {
        let reads = self
            .sources
            .iter_mut()
            .map(|(cluster, source)| {
                let cluster = cluster.clone();
                let name = cluster.clone();
                let shared = self.shared;
                source
                    .read()
                    .filter(move |item| {
                        let other = matches!(item, Ok(event)
                            if shared && event.cluster.as_ref().is_some_and(|c| *c != name));
                        futures::future::ready(!other)
                    })
                    .map(move |item| {
                        item.map(|mut event| {
                            event.cluster.get_or_insert_with(|| cluster.clone());
                            event
                        })
                    })
                    .boxed()
            })
            .collect();
        merge_by_time(reads).boxed()
    }

    fn overlap(&self) -> SignedDuration {
        self.sources
            .iter()
            .map(|(_, source)| source.overlap())
            .max()
            .unwrap_or(SignedDuration::ZERO)
    }
}

/// The log group of `cluster`: the sink's `log_group` template with `{cluster}` filled in.
///
/// # Errors
///
/// If the template is not a valid log group template, or names a placeholder other than
/// `{cluster}` (a group per namespace cannot be read as one cluster's).
pub fn log_group(template: &str, cluster: &str) -> Result<String, HistoryError> {
    let template = NameTemplate::log_group(template).map_err(|source| HistoryError::Template {
        template: template.to_owned(),
        source,
    })?;
    let mut one = Event::new("", "");
    one.cluster = Some(cluster.to_owned());
    let mut other = one.clone();
    one.namespace = Some("a".into());
    one.regarding.kind = "Pod".into();
    other.namespace = Some("b".into());
    other.regarding.kind = "Node".into();
    let group = template.render(&one);
    if group != template.render(&other) {
        return Err(HistoryError::GroupPerCluster {
            template: template.as_str().to_owned(),
        });
    }
    Ok(group)
}

/// The source of one cluster: its group, and only its events when the group is shared.
pub fn source(history: CloudWatchHistory, template: &str, cluster: &str) -> CloudWatchHistory {
    if template.contains("{cluster}") {
        history
    } else {
        history.cluster(cluster)
    }
}

/// Merges streams that are each in `lastSeen` order into one in that order: the oldest head
/// goes first, once every stream that has not ended has one. Errors pass through at once.
pub fn merge_by_time<E>(streams: Vec<BoxStream<'static, Result<Event, E>>>) -> MergeByTime<E> {
    MergeByTime {
        inputs: streams
            .into_iter()
            .map(|stream| Input {
                stream,
                head: None,
                ended: false,
            })
            .collect(),
    }
}

/// The stream of [`merge_by_time`].
#[must_use = "streams do nothing unless polled"]
pub struct MergeByTime<E> {
    inputs: Vec<Input<E>>,
}

struct Input<E> {
    stream: BoxStream<'static, Result<Event, E>>,
    head: Option<Event>,
    ended: bool,
}

impl<E> Stream for MergeByTime<E> {
    type Item = Result<Event, E>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let mut waiting = false;
        for input in &mut this.inputs {
            if input.head.is_some() || input.ended {
                continue;
            }
            match input.stream.poll_next_unpin(cx) {
                Poll::Ready(Some(Ok(event))) => input.head = Some(event),
                Poll::Ready(Some(Err(error))) => return Poll::Ready(Some(Err(error))),
                Poll::Ready(None) => input.ended = true,
                Poll::Pending => waiting = true,
            }
        }
        if waiting {
            return Poll::Pending;
        }
        let oldest = this
            .inputs
            .iter_mut()
            .filter(|input| input.head.is_some())
            .min_by_key(|input| input.head.as_ref().map(|event| event.last_seen));
        Poll::Ready(oldest.and_then(|input| input.head.take()).map(Ok))
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use event_history::from_stream;
    use futures::stream;

    use super::*;

    fn event(uid: &str, second: i64, cluster: Option<&str>) -> Event {
        let mut event = Event::new(uid, "1");
        event.last_seen = jiff::Timestamp::from_second(1_795_000_000 + second).unwrap();
        event.cluster = cluster.map(str::to_owned);
        event
    }

    #[tokio::test]
    async fn clusters_are_merged_in_time_order_and_named() {
        let eu = vec![event("a", 1, None), event("c", 5, None)];
        let us = vec![
            event("b", 2, Some("prod-us")),
            event("d", 6, None),
            event("e", 9, None),
        ];
        let source = |events: Vec<Event>| {
            // Pending between items, as a network read is.
            let items =
                stream::iter(events.into_iter().map(Ok::<_, Infallible>)).then(|e| async move {
                    tokio::task::yield_now().await;
                    e
                });
            from_stream(items)
        };
        let mut clusters = Clusters::new(vec![
            ("prod-eu".to_owned(), source(eu)),
            ("prod-us".to_owned(), source(us)),
        ]);
        let merged: Vec<(String, String)> = clusters
            .read()
            .map(|e| {
                let e = e.unwrap();
                (e.uid, e.cluster.unwrap())
            })
            .collect()
            .await;
        let expected = [
            ("a", "prod-eu"),
            ("b", "prod-us"),
            ("c", "prod-eu"),
            ("d", "prod-us"),
            ("e", "prod-us"),
        ];
        assert_eq!(merged, expected.map(|(u, c)| (u.to_owned(), c.to_owned())));
    }

    #[tokio::test]
    async fn from_a_shared_group_each_cluster_keeps_its_own_records() {
        let stored = || {
            from_stream(stream::iter(
                [
                    event("a", 1, Some("prod-eu")),
                    event("b", 2, Some("prod-us")),
                ]
                .map(Ok::<_, Infallible>),
            ))
        };
        let sources = vec![
            ("prod-eu".to_owned(), stored()),
            ("prod-us".to_owned(), stored()),
        ];
        let uids: Vec<String> = Clusters::new(sources)
            .shared(true)
            .read()
            .map(|e| e.unwrap().uid)
            .collect()
            .await;
        assert_eq!(uids, ["a", "b"]);
    }

    #[test]
    fn the_group_of_a_cluster_comes_from_the_sinks_template() {
        let group = log_group(sink_cloudwatch::DEFAULT_LOG_GROUP, "prod-eu").unwrap();
        assert_eq!(group, "/event-keeper/prod-eu");
        assert_eq!(log_group("/shared", "prod-eu").unwrap(), "/shared");
        assert!(log_group("/event-keeper/{cluster}/{namespace}", "prod").is_err());
    }
}
