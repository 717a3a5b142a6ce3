%%% @doc Helpers the convoy integration tests run on real BEAM nodes.
%%%
%%% Every helper prints exactly one line to standard output, starting
%%% with an upper-case tag, and returns the same result as a term:
%%% ```
%%% READY                                  serve/0, once both servers run
%%%                                        (serve_discovering/4: and DNS discovery)
%%% NODES <[Node] sorted ~w>               nodes_line/0,2
%%% PING pong | PING pang | PING timeout   ping/2
%%% CALL ok <Reply ~tw> | CALL error <Reason ~tw>        call/3
%%% STREAM ok <Count> <Microseconds> | STREAM error <What ~tw>  echo_stream/3
%%% MIXED ok | MIXED mismatch <Keys ~tw> | MIXED error <Reason ~tw>  mixed_echo/2
%%% SEND ok | SEND error <Reason ~tw>       send/2
%%% RECV <Msg ~tw> | RECV timeout           recv/1, recv_as/2
%%% '''
%%% Terms are printed with ~tw, so a line never contains a newline; the
%%% device is switched to UTF-8 first so unicode atoms print as UTF-8.
%%% Every wait is bounded by the caller's timeout in milliseconds.
-module(convoy_fixture).

-export([serve/0,
         serve_discovering/4,
         nodes_line/0,
         nodes_line/2,
         ping/2,
         call/3,
         quiet_call/3,
         echo_stream/3,
         mixed_term/0,
         mixed_echo/2,
         send/2,
         recv/1,
         recv_as/2,
         done/1]).

%%--------------------------------------------------------------------
%% Serving node
%%--------------------------------------------------------------------

%% @doc Start the echo gen_server as `fixture_server' and a second echo
%% server as `echo' (both unlinked), print `READY' and block forever.
-spec serve() -> no_return().
serve() ->
    start_servers(),
    out("READY", []),
    receive after infinity -> ok end.

%% The servers every serving node runs: `fixture_server' and `echo'.
start_servers() ->
    case node() of
        'nonode@nohost' -> out("SERVE warning not_distributed", []);
        _ -> ok
    end,
    {ok, _} = ensure_started(fixture_server),
    {ok, _} = ensure_started(echo),
    ok.

%% @doc serve/0 plus DNS discovery: start `convoy_dns_strategy' (SRV
%% name Query, peers `Sname-PORT@TARGET', nameserver 127.0.0.1:NsPort,
%% poll every PollMs, logging `DISCOVERED'/`DNS error' lines), print
%% `READY' and block forever. Query and Sname: charlists or binaries.
%% From Elixir: `:convoy_fixture.serve_discovering(~c"svc.service.consul",
%% ~c"app", 5353, 500)'.
-spec serve_discovering(string() | binary(), string() | binary(),
                        inet:port_number(), pos_integer()) -> no_return().
serve_discovering(Query, Sname, NsPort, PollMs)
  when is_integer(NsPort), is_integer(PollMs), PollMs > 0 ->
    start_servers(),
    {ok, _} = convoy_dns_strategy:start(#{query => Query,
                                          node_sname => Sname,
                                          nameservers => [{{127, 0, 0, 1}, NsPort}],
                                          poll_interval => PollMs,
                                          log => true}),
    out("READY", []),
    receive after infinity -> ok end.

%% @doc Print `NODES <List>', List being this node's
%% `nodes([visible, hidden])' sorted; returns List.
-spec nodes_line() -> [node()].
nodes_line() ->
    Nodes = lists:sort(nodes([visible, hidden])),
    out("NODES ~w", [Nodes]),
    Nodes.

%% @doc Ask Node for its `nodes([visible, hidden])' (by erpc, bounded by
%% TimeoutMs) and print `NODES <List>' without the calling node itself,
%% or `NODES error <Reason>'. Run it from a `-hidden' client so the
%% client does not join the mesh it inspects.
-spec nodes_line(node() | string(), timeout()) -> {ok, [node()]} | {error, term()}.
nodes_line(Node, TimeoutMs) when is_list(Node) ->
    nodes_line(list_to_atom(Node), TimeoutMs);
nodes_line(Node, TimeoutMs) when is_atom(Node) ->
    Result = try erpc:call(Node, erlang, nodes, [[visible, hidden]], TimeoutMs) of
                 Nodes -> {ok, lists:sort(Nodes -- [node()])}
             catch
                 error:{erpc, Reason} -> {error, Reason};
                 Class:Reason -> {error, {Class, Reason}}
             end,
    case Result of
        {ok, L} -> out("NODES ~w", [L]);
        {error, R} -> out("NODES error ~tw", [R])
    end,
    Result.

ensure_started(Name) ->
    case whereis(Name) of
        undefined -> convoy_fixture_echo:start(Name);
        Pid -> {ok, Pid}
    end.

%%--------------------------------------------------------------------
%% Client helpers
%%--------------------------------------------------------------------

%% @doc net_adm:ping/1 with a bound: prints `PING pong', `PING pang' or
%% `PING timeout'.
-spec ping(node() | string(), non_neg_integer()) -> pong | pang | timeout.
ping(Node, TimeoutMs) when is_list(Node) ->
    ping(list_to_atom(Node), TimeoutMs);
ping(Node, TimeoutMs) when is_atom(Node) ->
    Result = case bounded(fun() -> net_adm:ping(Node) end, TimeoutMs) of
                 {ok, R} -> R;
                 timeout ->
                     _ = erlang:disconnect_node(Node),
                     timeout;
                 {crashed, _} -> pang
             end,
    out("PING ~tw", [Result]),
    Result.

%% @doc gen_server:call/3 that never raises. ServerRef is anything
%% gen_server:call/3 accepts, typically `{fixture_server, Node}'.
%% Prints `CALL ok <Reply>' or `CALL error <Reason>', where Reason is
%% e.g. `timeout', `noproc', `{nodedown,Node}'.
-spec call(term(), term(), timeout()) -> {ok, term()} | {error, term()}.
call(ServerRef, Request, TimeoutMs) ->
    Result = quiet_call(ServerRef, Request, TimeoutMs),
    case Result of
        {ok, Reply} -> out("CALL ok ~tw", [Reply]);
        {error, Reason} -> out("CALL error ~tw", [Reason])
    end,
    Result.

%% @doc gen_server:call as a value: {ok, Reply} or {error, Reason}, never an exit.
-spec quiet_call(term(), term(), timeout()) -> {ok, term()} | {error, term()}.
quiet_call(ServerRef, Request, TimeoutMs) ->
    try gen_server:call(ServerRef, Request, TimeoutMs) of
        Reply -> {ok, Reply}
    catch
        exit:{Reason, {gen_server, call, _}} -> {error, Reason};
        Class:Reason -> {error, {Class, Reason}}
    end.

%% @doc Send Count messages `{Self, {seq, I}}' (I = 1..Count) back to
%% back to an echo process, then collect the Count `{seq, I}' replies,
%% checking their order. Target is a node name, atom or string, with an
%% `@' (the process registered as `echo' there is used), or any other
%% destination accepted by `!' (local name, `{Name, Node}', pid).
%% The wall time covers the first send to the last reply.
%% Prints `STREAM ok <Count> <Microseconds>' or `STREAM error <What>',
%% What being `{timeout, ReceivedSoFar}', `{out_of_order, Expected, Got}'
%% or `{unexpected, Msg}'.
-spec echo_stream(node() | term(), pos_integer(), non_neg_integer()) ->
          {ok, pos_integer(), non_neg_integer()} | {error, term()}.
echo_stream(Target, Count, TimeoutMs)
  when is_integer(Count), Count > 0, is_integer(TimeoutMs), TimeoutMs >= 0 ->
    Dest = stream_dest(Target),
    %% A fresh process, so nothing else is in the mailbox.
    Result = case bounded(fun() -> stream(Dest, Count, TimeoutMs) end,
                          TimeoutMs + 5000) of
                 {ok, R} -> R;
                 timeout -> {error, {timeout, unknown}};
                 {crashed, Why} -> {error, {crashed, Why}}
             end,
    case Result of
        {ok, N, Us} -> out("STREAM ok ~tw ~tw", [N, Us]);
        {error, What} -> out("STREAM error ~tw", [What])
    end,
    Result.

stream_dest(Target) when is_atom(Target) ->
    case lists:member($@, atom_to_list(Target)) of
        true -> {echo, Target};   % a node name
        false -> Target           % a locally registered name
    end;
stream_dest(Node) when is_list(Node) -> {echo, list_to_atom(Node)};
stream_dest(Dest) -> Dest.

stream(Dest, Count, TimeoutMs) ->
    Self = self(),
    T0 = erlang:monotonic_time(microsecond),
    Deadline = T0 + TimeoutMs * 1000,
    send_seq(Dest, Self, 1, Count),
    case recv_seq(1, Count, Deadline) of
        ok -> {ok, Count, erlang:monotonic_time(microsecond) - T0};
        {error, _} = Error -> Error
    end.

send_seq(_Dest, _Self, I, Count) when I > Count ->
    ok;
send_seq(Dest, Self, I, Count) ->
    Dest ! {Self, {seq, I}},
    send_seq(Dest, Self, I + 1, Count).

recv_seq(I, Count, _Deadline) when I > Count ->
    ok;
recv_seq(I, Count, Deadline) ->
    Left = max(0, Deadline - erlang:monotonic_time(microsecond)),
    receive
        {seq, I} -> recv_seq(I + 1, Count, Deadline);
        {seq, J} -> {error, {out_of_order, I, J}};
        Other -> {error, {unexpected, Other}}
    after (Left + 999) div 1000 ->
            {error, {timeout, I - 1}}
    end.

%% @doc A term with one of every external-term-format kind: atoms
%% (empty, quoted, UTF-8 beyond Latin-1), small/negative/big integers
%% (beyond 64 bits, both signs), floats, binaries, a bitstring, strings
%% (Latin-1 and beyond), proper/improper/empty lists, small/large/empty
%% tuples, small/large/nested maps, pid, reference, port and export fun.
%% The pid, reference and port belong to the calling node.
-spec mixed_term() -> map().
mixed_term() ->
    #{atoms => [ok, '', 'with space', 'Quoted', 'ünïcødé_λ_原子', true, false],
      small_ints => [0, 1, 255, 256, -1, -256],
      ints => [134217727, 134217728, -134217728, -134217729,
               2147483647, -2147483648, 4294967295],
      big_ints => [16#7FFFFFFFFFFFFFFF, 16#FFFFFFFFFFFFFFFF,
                   1 bsl 64, -(1 bsl 64), (1 bsl 200) + 12345,
                   -((1 bsl 200) + 12345), -(1 bsl 63) - 1],
      floats => [3.141592653589793, -2.5, 1.0e300, 5.0e-324],
      binary => <<"hello, convoy">>,
      empty_binary => <<>>,
      utf8_binary => <<"λ→ü"/utf8>>,
      bitstring => <<1:3>>,
      bitstring_long => <<16#ABCD:16, 5:5>>,
      string => "charlist",
      unicode_string => "λx",
      list => [1, two, "three", <<4>>, {5}],
      improper_list => [1, 2 | tail],
      empty_list => [],
      tuple => {a, 1, "b", {nested, {deeper}}},
      empty_tuple => {},
      large_tuple => list_to_tuple(lists:seq(1, 300)),
      nested_map => #{inner => #{deep => [1, 2, 3], <<"bin key">> => {k}},
                      1 => one, "str" => 2.5, {t} => #{}},
      large_map => maps:from_list([{I, I * I} || I <- lists:seq(1, 40)]),
      pid => self(),
      reference => make_ref(),
      port => hd(erlang:ports()),
      export_fun => fun lists:reverse/1}.

%% @doc Call `{echo, mixed_term()}' on ServerRef and compare the reply
%% with =:=. Prints `MIXED ok', `MIXED mismatch <DifferingKeys>' or
%% `MIXED error <Reason>'.
-spec mixed_echo(term(), timeout()) -> ok | {mismatch, term()} | {error, term()}.
mixed_echo(ServerRef, TimeoutMs) ->
    Term = mixed_term(),
    Result = case quiet_call(ServerRef, {echo, Term}, TimeoutMs) of
                 {ok, Reply} when Reply =:= Term -> ok;
                 {ok, Reply} when is_map(Reply) ->
                     {mismatch, [K || K <- lists:sort(maps:keys(Term)),
                                      maps:get(K, Reply, '$missing') =/=
                                          maps:get(K, Term)]
                                ++ (maps:keys(Reply) -- maps:keys(Term))};
                 {ok, Reply} -> {mismatch, {not_a_map, Reply}};
                 {error, _} = Error -> Error
             end,
    case Result of
        ok -> out("MIXED ok", []);
        {mismatch, What} -> out("MIXED mismatch ~tw", [What]);
        {error, Reason} -> out("MIXED error ~tw", [Reason])
    end,
    Result.

%% @doc `Dest ! Msg'; prints `SEND ok' (or `SEND error <Reason>' for a
%% bad destination).
-spec send(term(), term()) -> ok | {error, term()}.
send(Dest, Msg) ->
    Result = try Dest ! Msg of
                 _ -> ok
             catch
                 error:Reason -> {error, Reason}
             end,
    case Result of
        ok -> out("SEND ok", []);
        {error, R} -> out("SEND error ~tw", [R])
    end,
    Result.

%% @doc Wait for one message in the caller's mailbox.
%% Prints `RECV <Msg>' or `RECV timeout'.
-spec recv(timeout()) -> {ok, term()} | timeout.
recv(TimeoutMs) ->
    Result = receive Msg -> {ok, Msg} after TimeoutMs -> timeout end,
    case Result of
        {ok, M} -> out("RECV ~tw", [M]);
        timeout -> out("RECV timeout", [])
    end,
    Result.

%% @doc Register the caller as Name, print `REGISTERED <Name>', then
%% behave like recv/1 (the name is released afterwards).
-spec recv_as(atom(), timeout()) -> {ok, term()} | timeout.
recv_as(Name, TimeoutMs) when is_atom(Name) ->
    true = register(Name, self()),
    out("REGISTERED ~tw", [Name]),
    try recv(TimeoutMs) after unregister(Name) end.

%% @doc Halt the node: status 0 when Result reports success
%% (`ok', `pong', `{ok, ...}'), 1 otherwise. For short-lived clients:
%% `erl ... -eval "convoy_fixture:done(convoy_fixture:ping(N, 5000))"'.
-spec done(term()) -> no_return().
done(Result) ->
    Status = case Result of
                 ok -> 0;
                 pong -> 0;
                 T when is_tuple(T), element(1, T) =:= ok -> 0;
                 _ -> 1
             end,
    erlang:halt(Status).

%%--------------------------------------------------------------------
%% Internals
%%--------------------------------------------------------------------

%% Run Fun in a fresh monitored process; give up (and kill it) after
%% TimeoutMs. Returns {ok, Value} | timeout | {crashed, Reason}.
bounded(Fun, TimeoutMs) ->
    {Pid, Ref} = spawn_monitor(fun() -> exit({'$bounded', Fun()}) end),
    receive
        {'DOWN', Ref, process, Pid, {'$bounded', Value}} -> {ok, Value};
        {'DOWN', Ref, process, Pid, Reason} -> {crashed, Reason}
    after TimeoutMs ->
            exit(Pid, kill),
            receive {'DOWN', Ref, process, Pid, _} -> ok end,
            timeout
    end.

%% One line on stdout, UTF-8, written before we return.
out(Format, Args) ->
    _ = (catch io:setopts(standard_io, [{encoding, unicode}])),
    io:format(standard_io, Format ++ "~n", Args).
