//! RedisStore and RedisFanout pass chatcore's conformance suite against a real redis-server.

use chatcore_redis::testing as support;

chatcore::store_conformance_tests!(async {
    chatcore_redis::RedisStore::connect(&support::isolated("store"))
        .await
        .expect("connect to Redis")
});

chatcore::fanout_conformance_tests!(async {
    chatcore_redis::RedisFanout::connect(&support::isolated("fanout"))
        .await
        .expect("connect to Redis")
});
