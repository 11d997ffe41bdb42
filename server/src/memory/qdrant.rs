//! The Qdrant store (gRPC, `qdrant-client`), for memory shared beyond one machine. The collection
//! is created on first use with the embedder's dimension and cosine distance, with payload
//! indexes on kind, language and tags; the embedding model is recorded in a one-point companion
//! collection (`<collection>__meta`). Artifacts keep their UUIDv5 ids as point ids.

use std::collections::HashMap;

use async_trait::async_trait;
use qdrant_client::Qdrant;
use qdrant_client::qdrant::point_id::PointIdOptions;
use qdrant_client::qdrant::vector_output::Vector;
use qdrant_client::qdrant::{
    Condition, CountPointsBuilder, CreateCollectionBuilder, CreateFieldIndexCollectionBuilder, DeletePointsBuilder,
    Distance, FieldType, Filter as QFilter, GetPointsBuilder, PointId, PointStruct, PointsIdsList, QueryPointsBuilder,
    RetrievedPoint, ScrollPointsBuilder, UpsertPointsBuilder, VectorParamsBuilder,
};

use super::{
    Artifact, ArtifactKind, EmbeddingInfo, Filter, Hit, MemoryError, MemoryResult, Page, Payload, VectorStore,
};

pub struct QdrantStore {
    client: Qdrant,
    url: String,
    collection: String,
}

/// The one point of the companion collection that holds the embedding info.
const META_POINT: &str = "00000000-0000-0000-0000-000000000001";

fn err(url: &str, e: impl std::fmt::Display) -> MemoryError {
    MemoryError::Store(format!("qdrant {url}: {e}"))
}

fn id_string(id: &Option<PointId>) -> String {
    match id.as_ref().and_then(|p| p.point_id_options.clone()) {
        Some(PointIdOptions::Uuid(u)) => u,
        Some(PointIdOptions::Num(n)) => n.to_string(),
        None => String::new(),
    }
}

fn to_json(payload: HashMap<String, qdrant_client::qdrant::Value>) -> serde_json::Value {
    serde_json::Value::from(qdrant_client::Payload::from(payload))
}

impl QdrantStore {
    pub fn connect(url: &str, api_key: Option<String>, collection: &str) -> MemoryResult<QdrantStore> {
        let client = Qdrant::from_url(url).api_key(api_key).build().map_err(|e| err(url, e))?;
        let collection = if collection.is_empty() { "code_evolver".to_string() } else { collection.to_string() };
        Ok(QdrantStore { client, url: url.to_string(), collection })
    }

    fn meta_collection(&self) -> String {
        format!("{}__meta", self.collection)
    }

    async fn exists(&self, name: &str) -> MemoryResult<bool> {
        self.client.collection_exists(name).await.map_err(|e| err(&self.url, e))
    }

    /// Creates the collection for `dimension` (cosine) with its payload indexes, if missing.
    async fn ensure_collection(&self, dimension: usize) -> MemoryResult<()> {
        if self.exists(&self.collection).await? {
            return Ok(());
        }
        self.client
            .create_collection(
                CreateCollectionBuilder::new(&self.collection)
                    .vectors_config(VectorParamsBuilder::new(dimension as u64, Distance::Cosine)),
            )
            .await
            .map_err(|e| err(&self.url, e))?;
        for field in ["kind", "language", "tags"] {
            self.client
                .create_field_index(
                    CreateFieldIndexCollectionBuilder::new(&self.collection, field, FieldType::Keyword).wait(true),
                )
                .await
                .map_err(|e| err(&self.url, e))?;
        }
        Ok(())
    }

    fn point(&self, artifact: &Artifact, vector: &[f32]) -> MemoryResult<PointStruct> {
        let body = serde_json::json!({
            "kind": artifact.kind.as_str(),
            "language": artifact.payload.language,
            "tags": artifact.payload.tags,
            "task": artifact.payload.task,
            "created": artifact.payload.created,
            "text": artifact.text,
            "artifact": serde_json::to_string(&artifact.payload).map_err(|e| err(&self.url, e))?,
        });
        let payload = qdrant_client::Payload::try_from(body).map_err(|e| err(&self.url, e))?;
        Ok(PointStruct::new(artifact.id.clone(), vector.to_vec(), payload))
    }

    fn artifact(&self, id: String, payload: HashMap<String, qdrant_client::qdrant::Value>) -> MemoryResult<Artifact> {
        let json = to_json(payload);
        let kind = json["kind"]
            .as_str()
            .and_then(ArtifactKind::parse)
            .ok_or_else(|| err(&self.url, format!("point {id} has no kind")))?;
        let payload: Payload = serde_json::from_str(json["artifact"].as_str().unwrap_or("{}"))
            .map_err(|e| err(&self.url, format!("point {id}: bad payload: {e}")))?;
        Ok(Artifact { id, kind, text: json["text"].as_str().unwrap_or_default().to_string(), payload })
    }

    fn filter(filter: &Filter) -> Option<QFilter> {
        let mut must = Vec::new();
        if !filter.kinds.is_empty() {
            must.push(Condition::matches(
                "kind",
                filter.kinds.iter().map(|k| k.as_str().to_string()).collect::<Vec<_>>(),
            ));
        }
        if let Some(language) = &filter.language {
            must.push(Condition::matches("language", language.clone()));
        }
        if !filter.tags.is_empty() {
            must.push(Condition::matches("tags", filter.tags.clone()));
        }
        (!must.is_empty()).then(|| QFilter::must(must))
    }

    fn vector_of(point: &RetrievedPoint) -> Vec<f32> {
        match point.vectors.as_ref().and_then(|v| v.get_vector()) {
            Some(Vector::Dense(d)) => d.data,
            _ => Vec::new(),
        }
    }
}

#[async_trait]
impl VectorStore for QdrantStore {
    fn describe(&self) -> String {
        format!("Qdrant {} collection {}", self.url, self.collection)
    }

    async fn info(&self) -> MemoryResult<Option<EmbeddingInfo>> {
        let meta = self.meta_collection();
        if !self.exists(&meta).await? {
            return Ok(None);
        }
        let found = self
            .client
            .get_points(GetPointsBuilder::new(&meta, vec![PointId::from(META_POINT)]).with_payload(true))
            .await
            .map_err(|e| err(&self.url, e))?;
        let Some(point) = found.result.into_iter().next() else { return Ok(None) };
        let json = to_json(point.payload);
        Ok(Some(EmbeddingInfo {
            model: json["model"].as_str().unwrap_or_default().to_string(),
            dimension: json["dimension"].as_u64().unwrap_or(0) as usize,
        }))
    }

    async fn set_info(&self, info: &EmbeddingInfo) -> MemoryResult<()> {
        let meta = self.meta_collection();
        if !self.exists(&meta).await? {
            self.client
                .create_collection(
                    CreateCollectionBuilder::new(&meta).vectors_config(VectorParamsBuilder::new(1, Distance::Dot)),
                )
                .await
                .map_err(|e| err(&self.url, e))?;
        }
        let payload =
            qdrant_client::Payload::try_from(serde_json::json!({"model": info.model, "dimension": info.dimension}))
                .map_err(|e| err(&self.url, e))?;
        self.client
            .upsert_points(
                UpsertPointsBuilder::new(&meta, vec![PointStruct::new(META_POINT, vec![1.0f32], payload)]).wait(true),
            )
            .await
            .map_err(|e| err(&self.url, e))?;
        self.ensure_collection(info.dimension).await
    }

    async fn upsert(&self, items: &[(Artifact, Vec<f32>)]) -> MemoryResult<usize> {
        if items.is_empty() {
            return Ok(0);
        }
        self.ensure_collection(items[0].1.len()).await?;
        let ids: Vec<PointId> = items.iter().map(|(a, _)| PointId::from(a.id.clone())).collect();
        let known = self
            .client
            .get_points(GetPointsBuilder::new(&self.collection, ids).with_payload(true))
            .await
            .map_err(|e| err(&self.url, e))?;
        let mut existing: HashMap<String, HashMap<String, qdrant_client::qdrant::Value>> =
            known.result.into_iter().map(|p| (id_string(&p.id), p.payload)).collect();
        let mut points = Vec::with_capacity(items.len());
        let mut new = 0;
        for (artifact, vector) in items {
            // A stored id keeps its payload (its `created` above all) and takes the new vector.
            let point = match existing.remove(&artifact.id) {
                Some(payload) => {
                    PointStruct::new(artifact.id.clone(), vector.clone(), qdrant_client::Payload::from(payload))
                }
                None => {
                    new += 1;
                    self.point(artifact, vector)?
                }
            };
            points.push(point);
        }
        self.client
            .upsert_points(UpsertPointsBuilder::new(&self.collection, points).wait(true))
            .await
            .map_err(|e| err(&self.url, e))?;
        Ok(new)
    }

    async fn get(&self, id: &str) -> MemoryResult<Option<Artifact>> {
        if !self.exists(&self.collection).await? {
            return Ok(None);
        }
        let found = self
            .client
            .get_points(GetPointsBuilder::new(&self.collection, vec![PointId::from(id.to_string())]).with_payload(true))
            .await
            .map_err(|e| err(&self.url, e))?;
        found.result.into_iter().next().map(|p| self.artifact(id_string(&p.id), p.payload)).transpose()
    }

    async fn delete(&self, id: &str) -> MemoryResult<bool> {
        let existed = self.get(id).await?.is_some();
        if existed {
            self.client
                .delete_points(
                    DeletePointsBuilder::new(&self.collection)
                        .points(PointsIdsList { ids: vec![PointId::from(id.to_string())] })
                        .wait(true),
                )
                .await
                .map_err(|e| err(&self.url, e))?;
        }
        Ok(existed)
    }

    async fn search(&self, vector: &[f32], k: usize, filter: &Filter) -> MemoryResult<Vec<Hit>> {
        if !self.exists(&self.collection).await? {
            return Ok(Vec::new());
        }
        if let Some(info) = self.info().await?
            && info.dimension != vector.len()
        {
            return Err(MemoryError::Dimension { model: info.model, stored: info.dimension, given: vector.len() });
        }
        let mut query =
            QueryPointsBuilder::new(&self.collection).query(vector.to_vec()).limit(k as u64).with_payload(true);
        if let Some(f) = Self::filter(filter) {
            query = query.filter(f);
        }
        let found = self.client.query(query).await.map_err(|e| err(&self.url, e))?;
        found
            .result
            .into_iter()
            .map(|p| Ok(Hit { score: p.score, artifact: self.artifact(id_string(&p.id), p.payload)? }))
            .collect()
    }

    async fn count(&self) -> MemoryResult<usize> {
        if !self.exists(&self.collection).await? {
            return Ok(0);
        }
        let counted = self
            .client
            .count(CountPointsBuilder::new(&self.collection).exact(true))
            .await
            .map_err(|e| err(&self.url, e))?;
        Ok(counted.result.map(|r| r.count as usize).unwrap_or(0))
    }

    async fn iterate(&self, cursor: Option<String>, limit: usize) -> MemoryResult<Page> {
        if !self.exists(&self.collection).await? {
            return Ok((Vec::new(), None));
        }
        let mut scroll =
            ScrollPointsBuilder::new(&self.collection).limit(limit as u32).with_payload(true).with_vectors(true);
        if let Some(c) = cursor {
            scroll = scroll.offset(PointId::from(c));
        }
        let page = self.client.scroll(scroll).await.map_err(|e| err(&self.url, e))?;
        let next = page.next_page_offset.as_ref().map(|p| id_string(&Some(p.clone())));
        let mut out = Vec::with_capacity(page.result.len());
        for point in page.result {
            let vector = Self::vector_of(&point);
            out.push((self.artifact(id_string(&point.id), point.payload)?, vector));
        }
        Ok((out, next))
    }

    async fn replace_all(&self, info: &EmbeddingInfo, items: &[(Artifact, Vec<f32>)]) -> MemoryResult<()> {
        if self.exists(&self.collection).await? {
            self.client.delete_collection(&self.collection).await.map_err(|e| err(&self.url, e))?;
        }
        self.set_info(info).await?;
        for chunk in items.chunks(256) {
            self.upsert(chunk).await?;
        }
        Ok(())
    }
}
