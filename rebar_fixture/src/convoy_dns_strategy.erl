%%% @doc DNS SRV peer discovery for the convoy test fixture, with the
%%% semantics of Caravan's DNS cluster strategy (and of convoy's C++
%%% discovery), so BEAM test nodes find each other and the C node
%%% through the same Consul-style records.
%%%
%%% Every poll (the first one at start, then every `poll_interval' ms)
%%% looks up the SRV records of `query'. A record with port P and target
%%% T names the peer `<node_sname>-<P>@<T>' (T without its trailing
%%% dot). Our own node is skipped, so are nodes already connected
%%% (visible or hidden); every other one is connected to with `connect'
%%% in its own process, so an unreachable peer never delays the others
%%% nor the next poll (one attempt per node at a time). Nothing is ever
%%% disconnected: not when a record disappears, not when DNS fails.
%%%
%%% DNS: `inet_res:resolve/5' with EDNS0 (4096-byte UDP payload, so an
%%% answer with many records arrives whole; a truncated one is retried
%%% over TCP by inet_res), run in a worker process and bounded by
%%% `dns_timeout'. NXDOMAIN and an empty answer mean zero peers; any
%%% other failure (timeout, refused, servfail, ...) changes nothing and
%%% is reported once per outage.
%%%
%%% Options (a map; only `query' and `node_sname' are required):
%%% ```
%%% query         "svc.service.consul"  SRV name, string or binary
%%% node_sname    "app"                 string or binary
%%% nameservers   [{{127,0,0,1}, 5353}] default: the system resolver
%%% poll_interval 5000                  ms
%%% dns_timeout   2000                  ms, a whole lookup
%%% connect       fun net_kernel:connect_node/1  fun(node()) -> boolean()
%%% log           true                  print the lines below
%%% '''
%%% Lines (standard_io, one each, terms printed with ~w):
%%% ```
%%% DISCOVERED <node>   a node of the DNS answer is connected and was not
%%%                     before (connected by us, or by someone else, e.g.
%%%                     global's transitive connects); again after a
%%%                     nodedown and reconnect
%%% DNS error <reason>  the first failed lookup of an outage (reason:
%%%                     timeout, econnrefused, servfail, refused, ...)
%%% DNS recovered       the first successful lookup after an outage
%%% '''
-module(convoy_dns_strategy).
-behaviour(gen_server).

-export([start_link/1, start/1, stop/0, status/0, poll_now/0,
         node_names/2]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2, terminate/2]).

-define(SERVER, ?MODULE).
-define(DEFAULT_POLL_MS, 5000).
-define(DEFAULT_DNS_TIMEOUT_MS, 2000).
-define(EDNS_PAYLOAD, 4096).

%%--------------------------------------------------------------------
%% API
%%--------------------------------------------------------------------

%% @doc Start linked to the caller, registered as `convoy_dns_strategy'.
-spec start_link(map()) -> {ok, pid()} | {error, term()}.
start_link(Opts) when is_map(Opts) ->
    gen_server:start_link({local, ?SERVER}, ?MODULE, normalize(Opts), []).

%% @doc Start unlinked, registered as `convoy_dns_strategy'.
-spec start(map()) -> {ok, pid()} | {error, term()}.
start(Opts) when is_map(Opts) ->
    gen_server:start({local, ?SERVER}, ?MODULE, normalize(Opts), []).

-spec stop() -> ok.
stop() ->
    gen_server:stop(?SERVER).

%% @doc `#{last_answer => [node()], connected => [node()], ...}':
%% the nodes named by the last successful lookup (self included when it
%% is in the records), those of them connected now, the DNS state
%% (`ok' or `{error, Reason}'), connects in flight and the poll count.
-spec status() -> map().
status() ->
    gen_server:call(?SERVER, status).

%% @doc Poll now (unless a lookup is already running); returns `ok'.
-spec poll_now() -> ok.
poll_now() ->
    gen_server:cast(?SERVER, poll_now).

%% @doc The naming rule: `Sname-Port@Target', trailing dot dropped.
%% Takes inet_res SRV data `{Prio, Weight, Port, Target}'; targets that
%% are empty (the SRV "no service" target `.') are left out.
-spec node_names(string(), [{integer(), integer(), integer(), string()}]) ->
          [node()].
node_names(Sname, Srvs) ->
    lists:usort([list_to_atom(Sname ++ "-" ++ integer_to_list(Port) ++ "@" ++ Host)
                 || {_Prio, _Weight, Port, Target} <- Srvs,
                    Host <- [strip_dot(Target)],
                    Host =/= ""]).

%%--------------------------------------------------------------------
%% gen_server
%%--------------------------------------------------------------------

init(Cfg) ->
    %% nodeup/nodedown of visible and hidden nodes: a peer of the answer
    %% that comes up (however) is reported at once, one that goes down
    %% is reported again when it is back.
    ok = net_kernel:monitor_nodes(true, [{node_type, all}]),
    self() ! poll,
    {ok, Cfg#{last_answer => [],    % nodes of the last good lookup
              reported => [],       % answer nodes printed and still up
              pending => #{},       % Node => connect worker pid
              lookup => none,       % {Pid, MonitorRef} while resolving
              dns => ok,            % ok | {error, Reason}
              polls => 0,
              timer => none}}.

handle_call(status, _From, #{last_answer := Answer, pending := Pending,
                             dns := Dns, polls := Polls} = S) ->
    Up = connected(),
    {reply, #{last_answer => Answer,
              connected => [N || N <- Answer, lists:member(N, Up)],
              pending => lists:sort(maps:keys(Pending)),
              dns => Dns,
              polls => Polls}, S};
handle_call(_Other, _From, S) ->
    {reply, {error, unknown_request}, S}.

handle_cast(poll_now, S) ->
    {noreply, start_lookup(S)};
handle_cast(_Msg, S) ->
    {noreply, S}.

handle_info(poll, S) ->
    {noreply, start_lookup(S#{timer := none})};
handle_info({lookup, Pid, Result}, #{lookup := {Pid, Ref}} = S) ->
    erlang:demonitor(Ref, [flush]),
    {noreply, schedule(lookup_done(Result, S#{lookup := none}))};
handle_info({'DOWN', Ref, process, Pid, Reason}, #{lookup := {Pid, Ref}} = S) ->
    %% The worker died without answering: a failed lookup.
    {noreply, schedule(lookup_done({error, {lookup_crashed, Reason}},
                                   S#{lookup := none}))};
handle_info({connected, Node, Pid, Result}, #{pending := Pending} = S) ->
    S1 = case maps:get(Node, Pending, undefined) of
             Pid -> S#{pending := maps:remove(Node, Pending)};
             _ -> S
         end,
    case Result of
        true -> {noreply, report_up(S1)};
        _ -> {noreply, S1}
    end;
handle_info({nodeup, _Node, _Info}, S) ->
    {noreply, report_up(S)};
handle_info({nodedown, Node, _Info}, #{reported := Reported} = S) ->
    {noreply, S#{reported := lists:delete(Node, Reported)}};
handle_info(_Other, S) ->
    {noreply, S}.

terminate(_Reason, #{lookup := Lookup, pending := Pending}) ->
    case Lookup of
        {Pid, _} -> exit(Pid, kill);
        none -> ok
    end,
    [exit(P, kill) || P <- maps:values(Pending)],
    ok.

%%--------------------------------------------------------------------
%% Internals
%%--------------------------------------------------------------------

normalize(Opts) ->
    Query = to_list(maps:get(query, Opts)),
    Sname = to_list(maps:get(node_sname, Opts)),
    NS = maps:get(nameservers, Opts, default),
    Poll = maps:get(poll_interval, Opts, ?DEFAULT_POLL_MS),
    DnsTimeout = maps:get(dns_timeout, Opts, ?DEFAULT_DNS_TIMEOUT_MS),
    Connect = maps:get(connect, Opts, fun net_kernel:connect_node/1),
    Log = maps:get(log, Opts, true),
    true = is_integer(Poll) andalso Poll > 0,
    true = is_integer(DnsTimeout) andalso DnsTimeout > 0,
    true = is_function(Connect, 1),
    true = is_boolean(Log),
    true = (NS =:= default) orelse
        (is_list(NS) andalso NS =/= []
         andalso lists:all(fun({{_, _, _, _}, P}) when is_integer(P) -> true;
                              ({{_, _, _, _, _, _, _, _}, P}) when is_integer(P) -> true;
                              (_) -> false
                           end, NS)),
    #{query => Query, sname => Sname, nameservers => NS, poll_interval => Poll,
      dns_timeout => DnsTimeout, connect => Connect, log => Log}.

to_list(B) when is_binary(B) -> unicode:characters_to_list(B);
to_list(A) when is_atom(A) -> atom_to_list(A);
to_list(L) when is_list(L) -> L.

strip_dot(Name) ->
    case lists:reverse(Name) of
        [$. | Rest] -> lists:reverse(Rest);
        _ -> Name
    end.

connected() ->
    nodes([visible, hidden]).

%% One lookup at a time; a poll that finds one running is skipped (the
%% running one reschedules when it ends).
start_lookup(#{lookup := {_, _}} = S) ->
    S;
start_lookup(#{query := Query, nameservers := NS, dns_timeout := Tmo,
               polls := Polls, timer := Timer} = S) ->
    cancel(Timer),
    Server = self(),
    {Pid, Ref} = spawn_monitor(fun() -> Server ! {lookup, self(), resolve(Query, NS, Tmo)} end),
    S#{lookup := {Pid, Ref}, polls := Polls + 1, timer := none}.

cancel(none) -> ok;
cancel(TRef) -> _ = erlang:cancel_timer(TRef), ok.

schedule(#{poll_interval := Poll, timer := none} = S) ->
    S#{timer := erlang:send_after(Poll, self(), poll)};
schedule(S) ->
    S.

%% {ok, [SrvData]} (NXDOMAIN and empty answers: {ok, []}) | {error, Reason}
resolve(Query, NS, Tmo) ->
    NsOpt = case NS of
                default -> [];
                _ -> [{nameservers, NS}]
            end,
    Opts = NsOpt ++ [{edns, 0}, {udp_payload_size, ?EDNS_PAYLOAD},
                     {usevc, false}, {timeout, Tmo}, {retry, 2},
                     {nxdomain_reply, true}],
    try inet_res:resolve(Query, in, srv, Opts, Tmo) of
        {ok, Msg} ->
            {ok, [inet_dns:rr(RR, data) || RR <- inet_dns:msg(Msg, anlist),
                                          inet_dns:rr(RR, type) =:= srv,
                                          inet_dns:rr(RR, class) =:= in]};
        {error, nxdomain} -> {ok, []};
        {error, {nxdomain, _Msg}} -> {ok, []};
        {error, {Reason, _Msg}} -> {error, Reason};   % servfail, refused, ...
        {error, Reason} -> {error, Reason}             % timeout, econnrefused, ...
    catch
        Class:Why -> {error, {Class, Why}}
    end.

lookup_done({ok, Srvs}, #{sname := Sname, dns := Dns} = S) ->
    case Dns of
        ok -> ok;
        {error, _} -> log(S, "DNS recovered", [])
    end,
    Answer = node_names(Sname, Srvs),
    connect_missing(report_up(S#{last_answer := Answer, dns := ok}));
lookup_done({error, Reason}, #{dns := Dns} = S) ->
    case Dns of
        ok -> log(S, "DNS error ~w", [Reason]);
        {error, _} -> ok
    end,
    S#{dns := {error, Reason}}.

%% Spawn one connect per answer node that is neither us, nor connected,
%% nor being connected to.
connect_missing(#{last_answer := Answer, pending := Pending,
                  connect := Connect} = S) ->
    Up = connected(),
    Server = self(),
    New = maps:from_list(
            [{N, spawn(fun() -> Server ! {connected, N, self(), safe_connect(Connect, N)} end)}
             || N <- Answer, N =/= node(), not lists:member(N, Up),
                not maps:is_key(N, Pending)]),
    S#{pending := maps:merge(Pending, New)}.

safe_connect(Connect, Node) ->
    try Connect(Node) catch _:_ -> false end.

%% Print DISCOVERED for each answer node that is up and not yet reported.
report_up(#{last_answer := Answer, reported := Reported} = S) ->
    Up = connected(),
    Fresh = [N || N <- Answer, N =/= node(), lists:member(N, Up),
                  not lists:member(N, Reported)],
    [log(S, "DISCOVERED ~w", [N]) || N <- Fresh],
    S#{reported := Fresh ++ Reported}.

log(#{log := true}, Format, Args) ->
    io:format(standard_io, Format ++ "~n", Args);
log(_, _, _) ->
    ok.
