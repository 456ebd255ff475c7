//! Arrow Flight: executors serve their stage outputs' pieces with `do_get`, and readers fetch
//! pieces held by other executors through [`FlightPieces`]. Tickets are `lode.v1.Ticket`
//! messages packed in a protobuf `Any`, as Flight SQL expects of a server's own tickets.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::error::FlightError;
use arrow_flight::flight_service_client::FlightServiceClient;
use arrow_flight::sql::server::FlightSqlService;
use arrow_flight::sql::{Any, SqlInfo};
use arrow_flight::{FlightData, Ticket};
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use futures::{Stream, StreamExt, TryStreamExt};
use prost::Message;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Response, Status};

use crate::auth::{SendToken, Token};
use crate::proto;
use crate::shuffle::{LocalPieces, PieceId, PieceSource, ShuffleLayout};
use crate::stage::StageId;

const TICKET_TYPE: &str = "type.googleapis.com/lode.v1.Ticket";

/// A Flight ticket naming `ticket`.
pub fn encode_ticket(ticket: proto::Ticket) -> Ticket {
    let any = Any {
        type_url: TICKET_TYPE.to_string(),
        value: ticket.encode_to_vec().into(),
    };
    Ticket::new(any.encode_to_vec())
}

/// The Lode ticket inside a Flight SQL `Any`.
pub(crate) fn decode_ticket(any: &Any) -> Result<proto::ticket::Kind, Status> {
    if any.type_url != TICKET_TYPE {
        return Err(Status::invalid_argument(format!(
            "unknown ticket type `{}`",
            any.type_url
        )));
    }
    proto::Ticket::decode(any.value.clone())
        .ok()
        .and_then(|t| t.kind)
        .ok_or_else(|| Status::invalid_argument("a malformed Lode ticket"))
}

/// A job id as it may appear in a path: what the coordinator generates, nothing else.
pub(crate) fn is_job_id(job: &str) -> bool {
    !job.is_empty()
        && job.len() <= 64
        && job
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Record batches as a Flight `do_get` response. With `schema`, it is sent first (also for
/// no batches); without, the first batch's schema is.
pub(crate) fn flight_stream(
    batches: SendableRecordBatchStream,
    schema: Option<SchemaRef>,
) -> Pin<Box<dyn Stream<Item = Result<FlightData, Status>> + Send>> {
    let batches = batches
        .map_err(|e| FlightError::ExternalError(Box::new(e)))
        .and_then(|batch| {
            let messages = crate::batches::in_messages(batch).map_err(FlightError::Arrow);
            futures::future::ready(messages.map(|m| futures::stream::iter(m).map(Ok)))
        })
        .try_flatten();
    // Cut already, as the encoder's own cut cannot do it (see `in_messages`).
    let mut encoder = FlightDataEncoderBuilder::new().with_max_flight_data_size(usize::MAX);
    if let Some(schema) = schema {
        encoder = encoder.with_schema(schema);
    }
    let encoded = encoder
        .build(batches)
        .map_err(|e| Status::internal(e.to_string()));
    Box::pin(encoded)
}

/// Limits and credentials of the gRPC clients of one process, with their connections.
#[derive(Clone, Debug)]
pub struct Connections {
    token: Token,
    max_message_bytes: usize,
    tls: crate::Tls,
    channels: Arc<Mutex<HashMap<String, Channel>>>,
}

/// Bytes one stream may receive before its reader takes them (HTTP/2 stream flow control).
const STREAM_WINDOW: u32 = 2 << 20;

/// Bytes all streams of a connection may hold unread together: as much as HTTP/2 allows. The
/// streams of one connection are pieces one task reads in turn (a hash join reads its build
/// side to the end before its probe side); with a smaller connection window, the pieces it
/// has not reached yet fill it, the piece it reads can receive nothing more, and the task
/// waits forever (TPC-H SF 10 q08 on three executors did). Each stream stays bounded by
/// [`STREAM_WINDOW`].
const CONNECTION_WINDOW: u32 = (1 << 31) - 1;

pub type FlightClient = FlightServiceClient<InterceptedService<Channel, SendToken>>;

impl Connections {
    /// Connections that present `token` and accept messages up to `max_message_bytes`.
    pub fn new(token: Token, max_message_bytes: usize) -> Self {
        Connections {
            token,
            max_message_bytes,
            tls: crate::Tls::none(),
            channels: Arc::default(),
        }
    }

    /// These connections reach `https://` addresses through `tls`'s trust.
    pub fn with_tls(self, tls: crate::Tls) -> Self {
        Connections { tls, ..self }
    }

    /// The token presented on every call.
    pub fn token(&self) -> &Token {
        &self.token
    }

    /// The largest gRPC message sent or accepted.
    pub fn max_message_bytes(&self) -> usize {
        self.max_message_bytes
    }

    /// A channel to `address` (`http://host:port`), connected on first use and shared after.
    pub fn channel(&self, address: &str) -> Result<Channel, Status> {
        let mut channels = crate::lock(&self.channels);
        if let Some(channel) = channels.get(address) {
            return Ok(channel.clone());
        }
        let endpoint = Endpoint::from_shared(address.to_string())
            .map_err(|e| Status::invalid_argument(format!("address `{address}`: {e}")))?
            .connect_timeout(Duration::from_secs(5))
            .tcp_nodelay(true)
            .initial_stream_window_size(STREAM_WINDOW)
            .initial_connection_window_size(CONNECTION_WINDOW)
            .http2_keep_alive_interval(Duration::from_secs(10))
            .keep_alive_timeout(Duration::from_secs(20));
        let endpoint = self
            .tls
            .endpoint(address, endpoint)
            .map_err(Status::failed_precondition)?;
        let channel = endpoint.connect_lazy();
        channels.insert(address.to_string(), channel.clone());
        Ok(channel)
    }

    /// Forgets the connection to `address`, after it failed.
    pub fn forget(&self, address: &str) {
        crate::lock(&self.channels).remove(address);
    }

    /// A Flight client for `address`.
    pub fn flight(&self, address: &str) -> Result<FlightClient, Status> {
        let channel = self.channel(address)?;
        Ok(
            FlightServiceClient::with_interceptor(channel, self.token.send())
                .max_decoding_message_size(self.max_message_bytes)
                .max_encoding_message_size(self.max_message_bytes),
        )
    }

    /// The batches behind `ticket` on the Flight server at `address`; `moved` counts the
    /// bytes received.
    pub fn do_get(
        &self,
        address: &str,
        ticket: Ticket,
        schema: SchemaRef,
        moved: Arc<AtomicU64>,
        describe: impl Fn(&str) -> DataFusionError + Send + Sync + 'static,
    ) -> DfResult<SendableRecordBatchStream> {
        let describe = Arc::new(describe);
        let mut client = self.flight(address).map_err(|e| describe(e.message()))?;
        let fail = Arc::clone(&describe);
        let connections = self.clone();
        let owner = address.to_string();
        let data = futures::stream::once(async move {
            client.do_get(ticket).await.map_err(|status| {
                connections.forget(&owner);
                FlightError::ExternalError(Box::new(fail(status.message())))
            })
        })
        .map_ok(move |response| {
            let moved = Arc::clone(&moved);
            response
                .into_inner()
                .inspect_ok(move |frame: &FlightData| {
                    let size = frame.data_body.len() + frame.data_header.len();
                    moved.fetch_add(size as u64, Ordering::Relaxed);
                })
                .map_err(|status| FlightError::Tonic(Box::new(status)))
        })
        .try_flatten();
        let batches = arrow_flight::decode::FlightRecordBatchStream::new_from_flight_data(data)
            .map_err(move |e| describe(&e.to_string()));
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, batches)))
    }
}

/// A piece could not be read from the executor holding it: that executor's output is lost,
/// and the scheduler recomputes it.
#[derive(Debug, thiserror::Error)]
#[error("cannot read {piece} from executor {executor}: {message}")]
pub struct PieceFetchError {
    pub executor: String,
    pub piece: String,
    pub message: String,
}

/// Pieces fetched over Flight from the executors holding them; this executor's own pieces
/// are read from its disk.
#[derive(Debug)]
pub struct FlightPieces {
    /// This executor's address and pieces; `None` on the coordinator.
    own: Option<(String, LocalPieces)>,
    connections: Connections,
    bytes_fetched_remote: Arc<AtomicU64>,
}

impl FlightPieces {
    /// An executor's source: its own pieces from `layout`, the others' over Flight.
    pub fn new(own_address: String, layout: ShuffleLayout, connections: Connections) -> Self {
        FlightPieces {
            own: Some((own_address, LocalPieces::new(layout))),
            connections,
            bytes_fetched_remote: Arc::default(),
        }
    }

    /// Every piece over Flight: the coordinator's source.
    pub fn remote(connections: Connections) -> Self {
        FlightPieces {
            own: None,
            connections,
            bytes_fetched_remote: Arc::default(),
        }
    }

    /// Bytes received from other executors so far.
    pub fn bytes_fetched_remote(&self) -> u64 {
        self.bytes_fetched_remote.load(Ordering::Relaxed)
    }
}

impl PieceSource for FlightPieces {
    fn fetch(
        &self,
        executor: &str,
        piece: &PieceId,
        schema: SchemaRef,
    ) -> DfResult<SendableRecordBatchStream> {
        if let Some((address, own)) = &self.own
            && address == executor
        {
            return own.fetch(executor, piece, schema);
        }
        let ticket = encode_ticket(proto::Ticket {
            kind: Some(proto::ticket::Kind::Piece(proto::PieceTicket {
                job: piece.job.clone(),
                stage: piece.stage.0 as u32,
                task: piece.task as u32,
                piece: piece.piece as u32,
            })),
        });
        let owner = executor.to_string();
        let what = piece.to_string();
        self.connections.do_get(
            executor,
            ticket,
            schema,
            Arc::clone(&self.bytes_fetched_remote),
            move |message| {
                DataFusionError::External(Box::new(PieceFetchError {
                    executor: owner.clone(),
                    piece: what.clone(),
                    message: message.to_string(),
                }))
            },
        )
    }
}

/// Fault injection for tests: an executor started with this variable (milliseconds) waits
/// that long before serving each piece, so that a test can kill it while another executor
/// reads from it.
pub const PIECE_DELAY_VARIABLE: &str = "LODE_FAULT_PIECE_DELAY_MS";

/// An executor's Flight service: `do_get` of the pieces under its work directory.
#[derive(Debug, Clone)]
pub struct PieceServer {
    layout: ShuffleLayout,
    /// [`PIECE_DELAY_VARIABLE`], when set.
    delay: Option<Duration>,
}

impl PieceServer {
    pub fn new(layout: ShuffleLayout) -> Self {
        let delay = std::env::var(PIECE_DELAY_VARIABLE)
            .ok()
            .and_then(|ms| ms.trim().parse().ok())
            .map(Duration::from_millis);
        if let Some(delay) = delay {
            tracing::warn!(
                ?delay,
                "fault injection: every piece is served late ({PIECE_DELAY_VARIABLE})"
            );
        }
        PieceServer { layout, delay }
    }
}

#[tonic::async_trait]
impl FlightSqlService for PieceServer {
    type FlightService = PieceServer;

    async fn do_get_fallback(
        &self,
        _request: Request<Ticket>,
        message: Any,
    ) -> Result<
        Response<<Self as arrow_flight::flight_service_server::FlightService>::DoGetStream>,
        Status,
    > {
        let proto::ticket::Kind::Piece(ticket) = decode_ticket(&message)? else {
            return Err(Status::invalid_argument(
                "an executor serves pieces; ask the coordinator for results",
            ));
        };
        if !is_job_id(&ticket.job) {
            return Err(Status::invalid_argument(format!(
                "`{}` is not a job id",
                ticket.job
            )));
        }
        let piece = PieceId {
            job: ticket.job,
            stage: StageId(ticket.stage as usize),
            task: ticket.task as usize,
            piece: ticket.piece as usize,
        };
        if !self.layout.path(&piece).is_file() {
            return Err(Status::not_found(format!(
                "{piece} is not on this executor"
            )));
        }
        if let Some(delay) = self.delay {
            tracing::warn!(%piece, "fault injection: serving a piece in {delay:?}");
            tokio::time::sleep(delay).await;
        }
        // A piece's file carries its schema; the stream's own is unknown here and unused.
        let batches = LocalPieces::new(self.layout.clone())
            .fetch("", &piece, Arc::new(Schema::empty()))
            .map_err(|e| Status::internal(e.to_string()))?;
        Ok(Response::new(flight_stream(batches, None)))
    }

    async fn register_sql_info(&self, _id: i32, _result: &SqlInfo) {}
}
