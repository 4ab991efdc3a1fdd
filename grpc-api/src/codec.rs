//! The protobuf codec of `registry.v1`: prost's, except that a request that cannot be decoded
//! is the caller's mistake, INVALID_ARGUMENT, not INTERNAL (which would page whoever runs the
//! registry for a client's bug). The generated services and clients use it (`build.rs`).

use std::marker::PhantomData;

use tonic::Status;
use tonic::codec::{BufferSettings, Codec, DecodeBuf, Decoder};
use tonic_prost::{ProstDecoder, ProstEncoder};

/// prost's codec with [`Status::invalid_argument`] for messages that do not decode.
#[derive(Debug, Clone)]
pub struct RegistryCodec<T, U>(PhantomData<(T, U)>);

impl<T, U> Default for RegistryCodec<T, U> {
    fn default() -> Self {
        RegistryCodec(PhantomData)
    }
}

impl<T, U> Codec for RegistryCodec<T, U>
where
    T: prost::Message + Send + 'static,
    U: prost::Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = InvalidArgumentDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstEncoder::new(BufferSettings::default())
    }

    fn decoder(&mut self) -> Self::Decoder {
        InvalidArgumentDecoder(ProstDecoder::new(BufferSettings::default()))
    }
}

/// prost's decoder, its failures reported as INVALID_ARGUMENT.
#[derive(Debug, Clone)]
pub struct InvalidArgumentDecoder<U>(ProstDecoder<U>);

impl<U: prost::Message + Default> Decoder for InvalidArgumentDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        self.0
            .decode(buf)
            .map_err(|s| Status::invalid_argument(format!("the message is not a valid protobuf message of this method: {}", s.message())))
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.0.buffer_settings()
    }
}
