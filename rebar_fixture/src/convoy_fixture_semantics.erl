%%% @doc BEAM-side helpers for convoy's semantics tests: gen_server calls
%%% and casts, monitors, links and exit signals, rpc/erpc and `rex',
%%% dead-peer detection, simultaneous connects.
%%%
%%% Like `convoy_fixture', every helper prints one tagged line per result
%%% (terms with ~tw, so never a newline) and bounds every wait:
%%% ```
%%% READY                                    serve/0
%%% TCALL ok <Reply> <Ms> | TCALL error <Reason> <Ms>       timed_call/3
%%% MONITOR quiet | MONITOR down <Reason> <Object> <Ms> | MONITOR timeout
%%%                                          monitor_watch/3
%%% RPC <Label> <Result>                     rpc/5 (rpc:call)
%%% ERPC <Label> ok <Result> | ERPC <Label> <Class> <Reason>  erpc/5
%%% RPCMIXED <Label> <true|false|Other>      rpc_mixed/2, erpc_mixed/2
%%% CAST <Label> <Result>                    rpc_cast/5
%%% REX <Label> <Reply> | REX <Label> error <Reason>   rex_call/5
%%% KEEP <pong|pang> <Node>                  keep_connected/2 (each (re)connect)
%%% ROUND <K> connect=<Bool> listed=<N> call=<Reply> ups=<N> stray=<Ups>/<Downs>
%%%                                          sim_rounds/5
%%% ROUNDS done                              sim_rounds/5
%%% '''
%%% A node running serve/0 also prints, from the processes tests drive:
%%% ```
%%% VICTIM <Name> LINKED|UNLINKED|EXIT|DOWN|DIES|EXIT_SENT|GOT ...
%%% LATE replied <Reply>                     a `{late, Ms, Reply}' call answered
%%% SERVER <Name> STOPS <Reason>             a `{stop, Reason}' call
%%% '''
-module(convoy_fixture_semantics).
-behaviour(gen_server).

-export([serve/0,
         start_server/1,
         timed_call/3,
         monitor_watch/3,
         rpc/5,
         erpc/5,
         rpc_mixed/2,
         erpc_mixed/2,
         rpc_cast/5,
         rex_call/5,
         keep_connected/2,
         sim_rounds/5]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

-define(RPC_TIMEOUT, 10000).

%%--------------------------------------------------------------------
%% Serving node
%%--------------------------------------------------------------------

%% @doc Start `fixture_server' and `echo' (as convoy_fixture:serve/0 does)
%% plus two servers of this module, `semantics' and `stuck'; print
%% `READY' and block forever. Both answer these calls:
%% <ul>
%%   <li>`ping' -> `pong';</li>
%%   <li>`{start_victim, Name, Trap, ReportTo}' -> `{ok, Pid}': an unlinked
%%       process, registered as Name unless Name is `undefined', trapping
%%       exits if Trap; it reports what happens to it to ReportTo (a pid
%%       or `undefined') as messages and to stdout as `VICTIM' lines:
%%       `{die, Reason}' ends it with Reason; `{link_to, Pid}' and
%%       `{unlink_from, Pid}' link/unlink (reported `{linked, Name, Self}' /
%%       `{unlinked, Name, Self}'); `{exit_signal, Pid, Reason}' runs
%%       exit(Pid, Reason) (reported `{exit_sent, Name, Self}');
%%       `{monitor, Target}' monitors Target (reported `{monitoring, Name,
%%       Ref}'); an `{'EXIT', From, Reason}' is reported as `{victim_exit,
%%       Name, From, Reason}', a `'DOWN'' as `{victim_down, Name, Ref,
%%       Object, Reason}', anything else as `{victim_got, Name, Msg}';</li>
%%   <li>`{start_server, Name}' -> `{ok, Pid}': another server like this;</li>
%%   <li>`never' -> no reply, ever;</li>
%%   <li>`{late, Ms, Reply}' -> Reply after Ms milliseconds (then prints
%%       `LATE replied <Reply>');</li>
%%   <li>`{stop, Reason}' -> stops with Reason without replying.</li>
%% </ul>
-spec serve() -> no_return().
serve() ->
    {ok, _} = ensure(fixture_server, fun() -> convoy_fixture_echo:start(fixture_server) end),
    {ok, _} = ensure(echo, fun() -> convoy_fixture_echo:start(echo) end),
    {ok, _} = ensure(semantics, fun() -> start_server(semantics) end),
    {ok, _} = ensure(stuck, fun() -> start_server(stuck) end),
    out("READY", []),
    receive after infinity -> ok end.

%% @doc Start (unlinked) a server of this module registered as Name.
-spec start_server(atom()) -> {ok, pid()} | {error, term()}.
start_server(Name) when is_atom(Name) ->
    gen_server:start({local, Name}, ?MODULE, Name, []).

ensure(Name, Start) ->
    case whereis(Name) of
        undefined -> Start();
        Pid -> {ok, Pid}
    end.

init(Name) ->
    {ok, #{name => Name}}.

handle_call(ping, _From, State) ->
    {reply, pong, State};
handle_call({start_victim, Name, Trap, ReportTo}, _From, State) ->
    {reply, start_victim(Name, Trap, ReportTo), State};
handle_call({start_server, Name}, _From, State) ->
    {reply, start_server(Name), State};
handle_call(never, _From, State) ->
    {noreply, State};
handle_call({late, Ms, Reply}, From, State) when is_integer(Ms), Ms >= 0 ->
    _ = spawn(fun() ->
                      timer:sleep(Ms),
                      gen_server:reply(From, Reply),
                      out("LATE replied ~tw", [Reply])
              end),
    {noreply, State};
handle_call({stop, Reason}, _From, #{name := Name} = State) ->
    out("SERVER ~tw STOPS ~tw", [Name, Reason]),
    {stop, Reason, State};
handle_call(Other, _From, State) ->
    {reply, {error, {unknown_request, Other}}, State}.

handle_cast(_Msg, State) ->
    {noreply, State}.

handle_info(_Msg, State) ->
    {noreply, State}.

start_victim(Name, Trap, ReportTo) when is_atom(Name), is_boolean(Trap) ->
    Parent = self(),
    {Pid, Mref} =
        spawn_monitor(fun() ->
                              _ = process_flag(trap_exit, Trap),
                              case Name of
                                  undefined -> ok;
                                  _ -> true = register(Name, self())
                              end,
                              Parent ! {victim_ready, self()},
                              victim_loop(Name, ReportTo)
                      end),
    receive
        {victim_ready, Pid} ->
            erlang:demonitor(Mref, [flush]),
            {ok, Pid};
        {'DOWN', Mref, process, Pid, Reason} ->
            {error, Reason}
    after 5000 ->
            exit(Pid, kill),
            erlang:demonitor(Mref, [flush]),
            {error, timeout}
    end.

victim_loop(Name, ReportTo) ->
    receive
        {die, Reason} ->
            out("VICTIM ~tw DIES ~tw", [Name, Reason]),
            exit(Reason);
        {link_to, Pid} ->
            true = link(Pid),
            out("VICTIM ~tw LINKED ~tw", [Name, Pid]),
            report(ReportTo, {linked, Name, self()});
        {unlink_from, Pid} ->
            true = unlink(Pid),
            out("VICTIM ~tw UNLINKED ~tw", [Name, Pid]),
            report(ReportTo, {unlinked, Name, self()});
        {exit_signal, Pid, Reason} ->
            true = exit(Pid, Reason),
            out("VICTIM ~tw EXIT_SENT ~tw ~tw", [Name, Pid, Reason]),
            report(ReportTo, {exit_sent, Name, self()});
        {monitor, Target} ->
            Ref = erlang:monitor(process, Target),
            out("VICTIM ~tw MONITORING ~tw", [Name, Target]),
            report(ReportTo, {monitoring, Name, Ref});
        {'EXIT', From, Reason} ->
            out("VICTIM ~tw EXIT ~tw ~tw", [Name, From, Reason]),
            report(ReportTo, {victim_exit, Name, From, Reason});
        {'DOWN', Ref, process, Object, Reason} ->
            out("VICTIM ~tw DOWN ~tw ~tw", [Name, Object, Reason]),
            report(ReportTo, {victim_down, Name, Ref, Object, Reason});
        Other ->
            out("VICTIM ~tw GOT ~tw", [Name, Other]),
            report(ReportTo, {victim_got, Name, Other})
    end,
    victim_loop(Name, ReportTo).

report(undefined, _Msg) -> ok;
report(To, Msg) -> To ! Msg, ok.

%%--------------------------------------------------------------------
%% Client helpers
%%--------------------------------------------------------------------

%% @doc gen_server:call/3 timed: `TCALL ok <Reply> <Ms>' or
%% `TCALL error <Reason> <Ms>' (Reason as convoy_fixture:call/3 gives it,
%% e.g. `noproc', `timeout', `{nodedown, N}').
-spec timed_call(term(), term(), timeout()) -> {ok, term()} | {error, term()}.
timed_call(ServerRef, Request, TimeoutMs) ->
    T0 = now_ms(),
    Result = try gen_server:call(ServerRef, Request, TimeoutMs) of
                 Reply -> {ok, Reply}
             catch
                 exit:{Reason, {gen_server, call, _}} -> {error, Reason};
                 Class:Reason -> {error, {Class, Reason}}
             end,
    Ms = now_ms() - T0,
    case Result of
        {ok, R} -> out("TCALL ok ~tw ~w", [R, Ms]);
        {error, Why} -> out("TCALL error ~tw ~w", [Why, Ms])
    end,
    Result.

%% @doc erlang:monitor(process, Target); a `'DOWN'' within QuietMs prints
%% `MONITOR down <Reason> <Object> <Ms>' (Ms since the monitor was set);
%% otherwise `MONITOR quiet', then the `'DOWN'' within TimeoutMs more
%% (Ms since `quiet') or `MONITOR timeout'.
-spec monitor_watch(term(), non_neg_integer(), non_neg_integer()) ->
          {down, term()} | timeout.
monitor_watch(Target, QuietMs, TimeoutMs) ->
    T0 = now_ms(),
    Ref = erlang:monitor(process, Target),
    receive
        {'DOWN', Ref, process, Object, Reason} ->
            out("MONITOR down ~tw ~tw ~w", [Reason, Object, now_ms() - T0]),
            {down, Reason}
    after QuietMs ->
            out("MONITOR quiet", []),
            T1 = now_ms(),
            receive
                {'DOWN', Ref, process, Object, Reason} ->
                    out("MONITOR down ~tw ~tw ~w", [Reason, Object, now_ms() - T1]),
                    {down, Reason}
            after TimeoutMs ->
                    out("MONITOR timeout", []),
                    timeout
            end
    end.

%% @doc rpc:call/5 (10 s timeout): `RPC <Label> <Result>'.
-spec rpc(term(), node(), atom(), atom(), list()) -> term().
rpc(Label, Node, M, F, A) ->
    Result = rpc:call(Node, M, F, A, ?RPC_TIMEOUT),
    out("RPC ~tw ~tw", [Label, Result]),
    Result.

%% @doc erpc:call/5 (10 s timeout): `ERPC <Label> ok <Result>' or
%% `ERPC <Label> <Class> <Reason>'.
-spec erpc(term(), node(), atom(), atom(), list()) -> {ok, term()} | {atom(), term()}.
erpc(Label, Node, M, F, A) ->
    Result = try erpc:call(Node, M, F, A, ?RPC_TIMEOUT) of
                 R -> {ok, R}
             catch
                 Class:Reason -> {Class, Reason}
             end,
    {Tag, What} = Result,
    out("ERPC ~tw ~tw ~tw", [Label, Tag, What]),
    Result.

%% @doc rpc:call(Node, c_node, echo, [convoy_fixture:mixed_term()]) compared
%% with =:=: `RPCMIXED rpc true', or the mismatching reply instead of true.
-spec rpc_mixed(node(), timeout()) -> boolean().
rpc_mixed(Node, TimeoutMs) ->
    T = convoy_fixture:mixed_term(),
    R = rpc:call(Node, c_node, echo, [T], TimeoutMs),
    mixed_line(rpc, T, R).

%% @doc As rpc_mixed/2 through erpc:call: `RPCMIXED erpc true'.
-spec erpc_mixed(node(), timeout()) -> boolean().
erpc_mixed(Node, TimeoutMs) ->
    T = convoy_fixture:mixed_term(),
    R = try erpc:call(Node, c_node, echo, [T], TimeoutMs)
        catch Class:Reason -> {Class, Reason}
        end,
    mixed_line(erpc, T, R).

mixed_line(Label, T, R) when R =:= T ->
    out("RPCMIXED ~tw true", [Label]),
    true;
mixed_line(Label, _T, R) ->
    out("RPCMIXED ~tw ~tw", [Label, R]),
    false.

%% @doc rpc:cast/4: `CAST <Label> <Result>' (always true).
-spec rpc_cast(term(), node(), atom(), atom(), list()) -> true.
rpc_cast(Label, Node, M, F, A) ->
    Result = rpc:cast(Node, M, F, A),
    out("CAST ~tw ~tw", [Label, Result]),
    Result.

%% @doc The old rpc path: gen_server:call({rex, Node}, {call, M, F, A,
%% GroupLeader}): `REX <Label> <Reply>' or `REX <Label> error <Reason>'.
-spec rex_call(term(), node(), atom(), atom(), list()) -> term().
rex_call(Label, Node, M, F, A) ->
    Result = try gen_server:call({rex, Node}, {call, M, F, A, group_leader()}, ?RPC_TIMEOUT)
             catch
                 exit:{Reason, {gen_server, call, _}} -> {error, Reason}
             end,
    case Result of
        {error, Why} -> out("REX ~tw error ~tw", [Label, Why]);
        _ -> out("REX ~tw ~tw", [Label, Result])
    end,
    Result.

%% @doc Keep a link to Node forever: check every IntervalMs and, whenever
%% Node is not among nodes(hidden), net_adm:ping it and print
%% `KEEP <pong|pang> <Node>'. Never returns.
-spec keep_connected(node(), pos_integer()) -> no_return().
keep_connected(Node, IntervalMs) ->
    case lists:member(Node, nodes([visible, hidden])) of
        true -> ok;
        false -> out("KEEP ~tw ~tw", [net_adm:ping(Node), Node])
    end,
    timer:sleep(IntervalMs),
    keep_connected(Node, IntervalMs).

%% @doc Simultaneous-connect rounds against Node (which the test dials at
%% the same instants). Round K (0..Rounds-1) starts at wall-clock
%% StartMs + K * PeriodMs (os:system_time(millisecond)):
%% net_kernel:connect_node(Node) at the start; at +PeriodMs*2/5 print
%% `ROUND <K> connect=<Bool> listed=<N> call=<Reply> ups=<N>', where
%% listed counts Node in nodes(hidden), call is gen_server:call({Server,
%% Node}, ping), ups counts nodeup messages seen since the round began and
%% stray the nodeup and nodedown messages left over from the round before
%% (e.g. a nodedown that came after the bounded wait); at +PeriodMs*3/5
%% disconnect and wait (at most PeriodMs/5) for the nodedown.
%% Ends with `ROUNDS done'.
-spec sim_rounds(node(), integer(), pos_integer(), pos_integer(), atom()) -> ok.
sim_rounds(Node, StartMs, PeriodMs, Rounds, Server) ->
    ok = net_kernel:monitor_nodes(true, [{node_type, all}]),
    lists:foreach(fun(K) -> sim_round(Node, StartMs + K * PeriodMs, PeriodMs, K, Server) end,
                  lists:seq(0, Rounds - 1)),
    out("ROUNDS done", []),
    ok.

sim_round(Node, At, PeriodMs, K, Server) ->
    %% Strays are counted a little before the round opens, not at At: the other side
    %% dials at At too, and its handshake can finish before this process wakes from
    %% sleep_until(At) (timer:sleep may oversleep by a millisecond or two).
    sleep_until(At - PeriodMs div 10),
    StrayUps = drain_nodeups(Node, 0),
    StrayDowns = drain_nodedowns(Node, 0),
    sleep_until(At),
    Connected = net_kernel:connect_node(Node),
    sleep_until(At + PeriodMs * 2 div 5),
    Listed = length([N || N <- nodes(hidden), N =:= Node]),
    Reply = case convoy_fixture:quiet_call({Server, Node}, ping, PeriodMs div 5) of
                {ok, R} -> R;
                {error, E} -> {error, E}
            end,
    Ups = drain_nodeups(Node, 0),
    out("ROUND ~w connect=~tw listed=~w call=~tw ups=~w stray=~w/~w",
        [K, Connected, Listed, Reply, Ups, StrayUps, StrayDowns]),
    sleep_until(At + PeriodMs * 3 div 5),
    _ = erlang:disconnect_node(Node),
    receive
        {nodedown, Node, _} -> ok
    after PeriodMs div 5 -> ok
    end,
    ok.

drain_nodeups(Node, N) ->
    receive
        {nodeup, Node, _} -> drain_nodeups(Node, N + 1)
    after 0 -> N
    end.

drain_nodedowns(Node, N) ->
    receive
        {nodedown, Node, _} -> drain_nodedowns(Node, N + 1)
    after 0 -> N
    end.

sleep_until(WallMs) ->
    case WallMs - os:system_time(millisecond) of
        Left when Left > 0 -> timer:sleep(Left);
        _ -> ok
    end.

%%--------------------------------------------------------------------
%% Internals
%%--------------------------------------------------------------------

now_ms() ->
    erlang:monotonic_time(millisecond).

out(Format, Args) ->
    _ = (catch io:setopts(standard_io, [{encoding, unicode}])),
    io:format(standard_io, Format ++ "~n", Args).
